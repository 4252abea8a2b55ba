using Monetization.Core.Accounts;
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
        var name = parsed ? KeyNameOf(valid!) : null;
        var keys = (await environment.ApiKeysAsync(TestContext.Current.CancellationToken)).Where(k => k.Name == name).ToList();
        var plan = await environment.UsagePlanKeyIdsAsync(environment.StripeUsagePlanId, TestContext.Current.CancellationToken);
        var address = parsed ? valid!.Normalized : email;
        var customers = environment.Stripe.Customers.Where(c => string.Equals(c.Email, address, StringComparison.OrdinalIgnoreCase)).ToList();
        var subscriptions = environment.Stripe.Subscriptions.Where(s => customers.Any(c => c.Id == s.CustomerId)).ToList();
        return new RegistrationState(keys, [.. plan.Where(id => keys.Any(k => k.Id == id))], customers, subscriptions);
    }

    public static string SubscriberIdOf(string email) =>
        Email.TryParse(email, out var parsed, out _) ? StripeSubscribers.IdOf(parsed) : throw new ArgumentException("not an e-mail address", nameof(email));

    /// <summary>The name the subscriber's key gets: <c>stripe:</c> and the hash in the subscriber id.</summary>
    public static string KeyNameOf(Email email) => $"stripe:{Monetization.Core.Ledger.SubscriberRef.Hash(email.Normalized)}";

    /// <summary>
    /// After a failed attempt: nothing grants access (no key both enabled and in the plan; either half alone serves
    /// nothing) and nothing is duplicated.
    /// </summary>
    public void AssertNoAccessAndNoDuplicates()
    {
        Assert.True(Keys.Count <= 1, $"expected at most one API key, found {Keys.Count}");
        Assert.DoesNotContain(Keys, k => k.Enabled && KeysInPlan.Contains(k.Id));
        Assert.True(Customers.Count <= 1, $"expected at most one Stripe customer, found {Customers.Count}");
        Assert.True(Subscriptions.Count <= 1, $"expected at most one subscription, found {Subscriptions.Count}");
    }

    /// <summary>Before the address was proven: no key, no Stripe customer, no subscription.</summary>
    public void AssertNothing()
    {
        Assert.Empty(Keys);
        Assert.Empty(Customers);
        Assert.Empty(Subscriptions);
    }

    /// <summary>After a successful signup: one enabled key in the plan, one customer linked to it, one subscription.</summary>
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
