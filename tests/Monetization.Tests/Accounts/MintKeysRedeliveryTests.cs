using System.Reflection;
using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Core;
using Monetization.Core.Accounts;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Tests.Marketplace;

namespace Monetization.Tests.Accounts;

/// <summary>
/// The key minting consumer when SQS delivers a request again: an earlier attempt may have imported the key and then
/// failed before the ledger named it.
/// </summary>
public sealed class MintKeysRedeliveryTests
{
    private const string Plan = "plan-stripe";
    private static readonly DateTimeOffset Now = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly InMemorySubscriberLedger _ledger = new();
    private readonly InMemoryApiKeys _keys = new();

    private MintKeys Consumer()
    {
        var access = new ApiKeyAccess(_keys, NullLogger<ApiKeyAccess>.Instance);
        var time = new FixedTimeProvider(Now);
        var stripe = new StripeFirstKeys(access, Unused<IBilling>.Instance, new StripeChannelOptions { StripeUsagePlanId = Plan });
        return new MintKeys(_ledger, access, [stripe], new KeyCeiling(new KeyMintingOptions(), time), time, NullLogger<MintKeys>.Instance);
    }

    private Subscriber Seed(bool subscribed)
    {
        var record = new Subscriber
        {
            Id = "stripe#" + Guid.NewGuid().ToString("N"),
            Channel = Channel.Stripe,
            Status = subscribed ? SubscriberStatus.Active : SubscriberStatus.Cancelled,
            Subscribed = subscribed,
            CreatedAt = Now,
            UpdatedAt = Now,
        };
        _ledger.Seed(record);
        return record;
    }

    /// <summary>What an earlier attempt imported for the subscriber before it failed.</summary>
    private async Task<string> EarlierImportAsync(Subscriber record) =>
        Assert.Single(await _keys.ImportAsync(
            [new ApiKeyImport(StripeSubscribers.HolderOf(record).KeyName, "earlier", ApiKeyAccess.NewValue(), Enabled: true, [Plan])], Ct));

    private static QueuedKeyMint Redelivered(Subscriber record) => new("message-1", new KeyMintRequest(record.Id, Now), Deliveries: 2);

    [Fact]
    public async Task ARedeliveredRequestRecordsTheKeyTheEarlierAttemptImportedInsteadOfMakingASecond()
    {
        var record = Seed(subscribed: true);
        var earlier = await EarlierImportAsync(record);

        var outcome = await Consumer().MintAsync([Redelivered(record)], Ct);

        Assert.Empty(outcome.Failed);
        Assert.Equal(0, outcome.Minted);
        Assert.Equal(earlier, (await _ledger.GetAsync(record.Id, Ct))!.ApiKeyId);
        Assert.Equal(earlier, Assert.Single(_keys.Keys).Id);
        Assert.True(_keys.HasAccess(Plan, earlier));
    }

    [Fact]
    public async Task AFirstDeliveryImportsTheKeyEnabledInThePlanAndRecordsIt()
    {
        var record = Seed(subscribed: true);

        var outcome = await Consumer().MintAsync([new QueuedKeyMint("message-1", new KeyMintRequest(record.Id, Now), Deliveries: 1)], Ct);

        Assert.Equal(1, outcome.Minted);
        var key = Assert.Single(_keys.Keys);
        Assert.Equal(key.Id, (await _ledger.GetAsync(record.Id, Ct))!.ApiKeyId);
        Assert.True(_keys.HasAccess(Plan, key.Id));
    }

    /// <summary>A dependency the code under test must not call.</summary>
    public class Unused<T> : DispatchProxy
        where T : class
    {
        public static T Instance { get; } = Create<T, Unused<T>>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            throw new InvalidOperationException($"{typeof(T).Name}.{targetMethod?.Name} was called.");
    }
}
