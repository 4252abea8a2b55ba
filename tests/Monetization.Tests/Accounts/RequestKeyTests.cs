using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Tests.Infrastructure;
using Monetization.Tests.Marketplace;

namespace Monetization.Tests.Accounts;

/// <summary>When a subscriber's first key is asked of the key minting queue, and when again.</summary>
public sealed class RequestKeyTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly InMemorySubscriberLedger _ledger = new();
    private readonly CollectingKeyMintQueue _queue = new();
    private readonly ManualTimeProvider _clock = new(Start);

    private RequestKey Keys(IKeyMintQueue? queue = null) => new(_ledger, queue ?? _queue, _clock);

    private Subscriber Seed(SubscriberStatus status = SubscriberStatus.Active)
    {
        var record = new Subscriber
        {
            Id = "stripe#" + Guid.NewGuid().ToString("N"),
            Channel = Channel.Stripe,
            Status = status,
            Subscribed = status == SubscriberStatus.Active,
            CreatedAt = Start,
            UpdatedAt = Start,
        };
        _ledger.Seed(record);
        return record;
    }

    private Task<Subscriber?> StoredAsync(Subscriber record) => _ledger.GetAsync(record.Id, Ct);

    [Fact]
    public async Task GrantsThatFollowOneAnotherAskOnceUntilAMinuteHasPassed()
    {
        var record = Seed();

        var first = await Keys().EnsureRequestedAsync(record, Ct);
        await Keys().EnsureRequestedAsync(first, Ct);
        await Keys().EnsureRequestedAsync(record, Ct);

        Assert.Single(_queue.Take());
        Assert.Equal(Start, (await StoredAsync(record))!.KeyRequestedAt);
        _clock.Advance(RequestKey.ResendAfter);
        await Keys().EnsureRequestedAsync((await StoredAsync(record))!, Ct);
        Assert.Single(_queue.Take());
    }

    [Fact]
    public async Task ASubscriberWhoStopsAwaitingAKeyIsAskedForAnewWhenTheyAwaitOneAgain()
    {
        // Asked for; access ends before the consumer gets to the request, which it then drops.
        var record = Seed();
        await Keys().EnsureRequestedAsync(record, Ct);
        Assert.Single(_queue.Take());
        var ended = await _ledger.UpdateAsync(
            record.Id, current => current! with { Status = SubscriberStatus.Suspended, Subscribed = false }, known: null, Ct);
        Assert.Null(ended.Stored!.KeyRequestedAt);

        // Access comes back within the minute: the request the consumer dropped is not waited on.
        var back = await _ledger.UpdateAsync(
            record.Id, current => current! with { Status = SubscriberStatus.Active, Subscribed = true }, known: null, Ct);
        await Keys().EnsureRequestedAsync(back.Stored!, Ct);

        Assert.Single(_queue.Take());
    }

    [Fact]
    public async Task ASendThatFailsTakesItsNoteBackSoTheNextCallerAsks()
    {
        var record = Seed();

        await Assert.ThrowsAsync<DependencyUnavailableException>(() => Keys(new FailingQueue()).EnsureRequestedAsync(record, Ct));

        Assert.Null((await StoredAsync(record))!.KeyRequestedAt);
        await Keys().EnsureRequestedAsync((await StoredAsync(record))!, Ct);
        Assert.Single(_queue.Take());
    }

    [Fact]
    public async Task ASubscriberWhoAwaitsNoKeyIsNotAskedFor()
    {
        var record = Seed(SubscriberStatus.Cancelled);

        await Keys().EnsureRequestedAsync(record, Ct);

        Assert.Empty(_queue.Take());
        Assert.Null((await StoredAsync(record))!.KeyRequestedAt);
    }

    private sealed class FailingQueue : IKeyMintQueue
    {
        public Task RequestAsync(KeyMintRequest request, CancellationToken cancellationToken) =>
            throw new DependencyUnavailableException("key minting queue", "send", new HttpRequestException("refused"));
    }
}
