using Monetization.Core;
using Monetization.Core.Ledger;
using Monetization.Tests.Marketplace;

namespace Monetization.Tests.Core;

public sealed class SubscriberLedgerUpdatesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AnAbsentRecordIsCreatedAtVersionOne()
    {
        var ledger = new InMemorySubscriberLedger();

        var update = await ledger.UpdateAsync("sub#1", current => LedgerChange<string>.Write(current ?? Pending("sub#1"), "created"), null, TestContext.Current.CancellationToken);

        Assert.True(update.Written);
        Assert.Equal("created", update.Result);
        Assert.Equal(1, update.Stored!.Version);
        Assert.Equal(1, (await ledger.GetAsync("sub#1", TestContext.Current.CancellationToken))!.Version);
    }

    [Fact]
    public async Task KeepingTheRecordWritesNothing()
    {
        var ledger = new InMemorySubscriberLedger();
        ledger.Seed(Pending("sub#1") with { Version = 3 });
        var writesBefore = ledger.Writes;

        var update = await ledger.UpdateAsync("sub#1", current => LedgerChange<long>.Keep(current!.Version), null, TestContext.Current.CancellationToken);

        Assert.False(update.Written);
        Assert.Equal(3, update.Result);
        Assert.Equal(writesBefore, ledger.Writes);
    }

    [Fact]
    public async Task AStaleKnownRecordIsDecidedAgainOnTheStoredOne()
    {
        var ledger = new InMemorySubscriberLedger();
        var stale = Pending("sub#1") with { Version = 1 };
        ledger.Seed(stale with { Version = 2, ApiKeyId = "key-from-someone-else" });
        var decidedOn = new List<string?>();

        var update = await ledger.UpdateAsync(
            "sub#1",
            current =>
            {
                decidedOn.Add(current?.ApiKeyId);
                return LedgerChange<bool>.Write(current! with { Registered = true }, true);
            },
            new KnownRecord(stale),
            TestContext.Current.CancellationToken);

        Assert.Equal([null, "key-from-someone-else"], decidedOn);
        Assert.Equal(3, update.Stored!.Version);
        var stored = await ledger.GetAsync("sub#1", TestContext.Current.CancellationToken);
        Assert.True(stored!.Registered);
        Assert.Equal("key-from-someone-else", stored.ApiKeyId);
    }

    [Fact]
    public async Task AKnownAbsentRecordSavesTheFirstRead()
    {
        var faults = new ScriptedFaults().CrashBefore("ledger.get");
        var ledger = new InMemorySubscriberLedger(faults);

        var update = await ledger.UpdateAsync("sub#1", current => LedgerChange<int>.Write(current ?? Pending("sub#1"), 1), new KnownRecord(null), TestContext.Current.CancellationToken);

        Assert.True(update.Written);
    }

    [Fact]
    public async Task ConcurrentUpdatesAreAllApplied()
    {
        var ledger = new InMemorySubscriberLedger();
        ledger.Seed(Pending("sub#1") with { Version = 1 });

        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => ledger.UpdateAsync(
            "sub#1",
            current => LedgerChange<int>.Write(current! with { FirstName = (current.FirstName ?? string.Empty) + i.ToString(System.Globalization.CultureInfo.InvariantCulture) }, i),
            null,
            TestContext.Current.CancellationToken))));

        var stored = await ledger.GetAsync("sub#1", TestContext.Current.CancellationToken);
        Assert.Equal(9, stored!.Version);
        Assert.Equal("01234567", string.Concat(stored.FirstName!.Order()));
    }

    [Fact]
    public async Task EndlessContentionFailsAsATransientFault()
    {
        var ledger = new AlwaysConflictingLedger();

        var failure = await Assert.ThrowsAsync<DependencyUnavailableException>(() => ledger.UpdateAsync(
            "sub#1", current => LedgerChange<int>.Write(current ?? Pending("sub#1"), 1), null, TestContext.Current.CancellationToken));

        Assert.Equal("ledger", failure.Dependency);
        Assert.Equal(SubscriberLedgerUpdates.MaxAttempts, ledger.Attempts);
    }

    [Fact]
    public async Task ADecisionCannotWriteAnotherSubscriber()
    {
        var ledger = new InMemorySubscriberLedger();

        await Assert.ThrowsAsync<InvalidOperationException>(() => ledger.UpdateAsync(
            "sub#1", _ => LedgerChange<int>.Write(Pending("sub#2"), 1), null, TestContext.Current.CancellationToken));
        Assert.Empty(ledger.All);
    }

    private static Subscriber Pending(string id) => new()
    {
        Id = id,
        Channel = Channel.Stripe,
        Status = SubscriberStatus.Pending,
        CreatedAt = Now,
        UpdatedAt = Now,
    };

    private sealed class AlwaysConflictingLedger : ISubscriberLedger
    {
        public int Attempts { get; private set; }

        public Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken) => Task.FromResult<Subscriber?>(null);

        public Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken)
        {
            Attempts++;
            return Task.FromResult(false);
        }

        public Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<string?> FindAliasAsync(string alias, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<string> AddAliasAsync(string alias, string subscriberId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<string?> FindStripeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<string> AddStripeSubscriptionAsync(string subscriptionId, string subscriberId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
