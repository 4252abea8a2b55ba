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
        var name = $"stripe:{email.ToLowerInvariant()}";
        var keys = (await environment.ApiKeysAsync(TestContext.Current.CancellationToken)).Where(k => k.Name == name).ToList();
        var plan = await environment.UsagePlanKeyIdsAsync(environment.StripeUsagePlanId, TestContext.Current.CancellationToken);
        var customers = environment.Stripe.Customers.Where(c => string.Equals(c.Email, email, StringComparison.OrdinalIgnoreCase)).ToList();
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
    }
}
