using System.Net;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Aws.Ledger;
using Monetization.Core;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Registration;

/// <summary>The Portal with a ledger whose next replaces can be made to fail as the ledger adapter reports a DynamoDB that stops answering.</summary>
public sealed class LedgerFailingPortalFixture : PortalFixture
{
    private int _failingReplaces;

    public void FailNextReplaces(int count) => Interlocked.Exchange(ref _failingReplaces, count);

    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<ISubscriberLedger>(sp => new FailingLedger(
            new DynamoDbSubscriberLedger(sp.GetRequiredService<IAmazonDynamoDB>(), OfflineEnvironment.LedgerTableName), this));

    private sealed class FailingLedger(ISubscriberLedger inner, LedgerFailingPortalFixture fixture) : ISubscriberLedger
    {
        public Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken) => inner.GetAsync(subscriberId, cancellationToken);

        public Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken) => inner.TryCreateAsync(subscriber, cancellationToken);

        public Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken) =>
            Interlocked.Decrement(ref fixture._failingReplaces) >= 0
                ? Task.FromException<bool>(new DependencyUnavailableException("dynamodb", "PutItem", new TimeoutException("The ledger did not answer.")))
                : inner.TryReplaceAsync(subscriber, expectedVersion, cancellationToken);

        public Task<string?> FindAliasAsync(string alias, CancellationToken cancellationToken) => inner.FindAliasAsync(alias, cancellationToken);

        public Task<string> AddAliasAsync(string alias, string subscriberId, CancellationToken cancellationToken) =>
            inner.AddAliasAsync(alias, subscriberId, cancellationToken);

        public Task<string?> FindStripeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
            inner.FindStripeSubscriptionAsync(subscriptionId, cancellationToken);

        public Task<string> AddStripeSubscriptionAsync(string subscriptionId, string subscriberId, CancellationToken cancellationToken) =>
            inner.AddStripeSubscriptionAsync(subscriptionId, subscriberId, cancellationToken);
    }
}

public sealed class RegistrationLedgerFaultTests(LedgerFailingPortalFixture portal) : IClassFixture<LedgerFailingPortalFixture>
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task RecordingTheSubscriberFailingLeavesNoAccessAndARetryConvergesOnTheSameObjects(int failingWrites)
    {
        var email = $"ledger-down-{failingWrites}@example.com";
        using var browser = await portal.SignInAsync(email);
        var page = await browser.AccountPageAsync();
        portal.FailNextReplaces(failingWrites);

        using var failed = await browser.PostFormAsync("/account/subscribe", page);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        var afterFailure = await RegistrationState.ReadAsync(portal.Environment, email);
        afterFailure.AssertNoAccessAndNoDuplicates();
        Assert.Single(afterFailure.Customers);

        portal.FailNextReplaces(0);
        using var retried = await browser.PressAsync("/account/subscribe");

        Assert.Equal(HttpStatusCode.SeeOther, retried.StatusCode);
        var shown = await portal.MintedKeyAsync(browser);
        var state = await RegistrationState.ReadAsync(portal.Environment, email);
        state.AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        Assert.True(afterFailure.Keys.Count == 0 || afterFailure.Keys[0].Id == state.Keys[0].Id);
        Assert.Equal(afterFailure.Customers[0].Id, state.Customers[0].Id);
        Assert.Equal(state.Keys[0].Value, shown?.Value);
    }
}
