using Monetization.Core.Registration;
using Monetization.Emulators;

namespace Monetization.Tests.Registration;

/// <summary>What the outside world holds for one e-mail: its API keys in moto and its Stripe objects in the emulator.</summary>
internal sealed record RegistrationState(
    IReadOnlyList<(string Id, string Name, bool Enabled, string Value)> Keys,
    IReadOnlyList<string> KeysInPlan,
    IReadOnlyList<Emulators.Stripe.EmulatedCustomer> Customers,
    IReadOnlyList<Emulators.Stripe.EmulatedSubscription> Subscriptions)
{
    public static async Task<RegistrationState> ReadAsync(OfflineEnvironment environment, string email)
    {
        // An address that does not parse has no key name; its key could only carry one that no registration uses.
        var parsed = Email.TryParse(email, out var valid, out _);
        var name = parsed ? RegisterSubscriber.KeyHolderFor(valid!).KeyName : null;
        var keys = (await environment.ApiKeysAsync(TestContext.Current.CancellationToken)).Where(k => k.Name == name).ToList();
        var plan = await environment.UsagePlanKeyIdsAsync(environment.StripeUsagePlanId, TestContext.Current.CancellationToken);
        var address = parsed ? valid!.Normalized : email;
        var customers = environment.Stripe.Customers.Where(c => string.Equals(c.Email, address, StringComparison.OrdinalIgnoreCase)).ToList();
        var subscriptions = environment.Stripe.Subscriptions.Where(s => customers.Any(c => c.Id == s.CustomerId)).ToList();
        return new RegistrationState(keys, [.. plan.Where(id => keys.Any(k => k.Id == id))], customers, subscriptions);
    }

    /// <summary>After a failed attempt: nothing grants access and nothing is duplicated.</summary>
    public void AssertNoAccessAndNoDuplicates()
    {
        Assert.True(Keys.Count <= 1, $"expected at most one API key, found {Keys.Count}");
        Assert.DoesNotContain(Keys, k => k.Enabled);
        Assert.Empty(KeysInPlan);
        Assert.True(Customers.Count <= 1, $"expected at most one Stripe customer, found {Customers.Count}");
        Assert.True(Subscriptions.Count <= 1, $"expected at most one subscription, found {Subscriptions.Count}");
    }

    /// <summary>After a successful registration: one enabled key in the plan, one customer linked to it, one subscription.</summary>
    public void AssertRegistered(string apiKeyId, string priceId)
    {
        var key = Assert.Single(Keys);
        Assert.Equal(apiKeyId, key.Id);
        Assert.True(key.Enabled);
        Assert.Equal([apiKeyId], KeysInPlan);
        var customer = Assert.Single(Customers);
        Assert.Equal(apiKeyId, customer.Metadata["awsAPIKeyId"]);
        var subscription = Assert.Single(Subscriptions);
        Assert.Equal("active", subscription.Status);
        Assert.Equal(priceId, Assert.Single(subscription.Items).PriceId);

        // Access before payment only ever comes with invoices: never a charge to a card nobody entered.
        Assert.Equal("send_invoice", subscription.CollectionMethod);
    }
}

/// <summary>How much the outside world and the ledger hold in total, to show that a refused request added nothing.</summary>
internal sealed record Footprint(int ApiKeys, int LedgerItems, int Customers)
{
    public static async Task<Footprint> ReadAsync(OfflineEnvironment environment)
    {
        var ct = TestContext.Current.CancellationToken;
        using var dynamoDb = environment.DynamoDb();
        var scan = await dynamoDb.ScanAsync(
            new Amazon.DynamoDBv2.Model.ScanRequest { TableName = OfflineEnvironment.LedgerTableName, Select = Amazon.DynamoDBv2.Select.COUNT },
            ct);
        return new Footprint((await environment.ApiKeysAsync(ct)).Count, scan.Count ?? 0, environment.Stripe.Customers.Count);
    }
}
