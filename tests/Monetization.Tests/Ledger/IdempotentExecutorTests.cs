using System.Text;
using Monetization.Core.Idempotency;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Ledger;

/// <summary>The executor's own rules, against a store that records what it was asked and can be told to fail.</summary>
public sealed class IdempotentExecutorTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes("payload");

    private readonly RecordingStore _store = new();
    private readonly ManualTimeProvider _clock = new(Start);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void PayloadHashIsLowercaseHexSha256OfTheCanonicalBytes() =>
        Assert.Equal(
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            IdempotentExecutor.HashPayload(Encoding.UTF8.GetBytes("abc")));

    [Fact]
    public void OptionsRefuseARecordTtlNoLongerThanTheInProgressTimeout() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IdempotentExecutor(
            _store,
            _clock,
            new IdempotencyOptions { RecordTtl = TimeSpan.FromSeconds(30), InProgressTimeout = TimeSpan.FromSeconds(30) }));

    [Fact]
    public async Task ClaimCarriesTheTimeoutsAndCompletionCountsTheTtlFromWhenTheWorkFinished()
    {
        var options = new IdempotencyOptions { RecordTtl = TimeSpan.FromHours(1), InProgressTimeout = TimeSpan.FromMinutes(5) };
        var executor = new IdempotentExecutor(_store, _clock, options);

        await executor.ExecuteAsync("k", Payload, _ =>
        {
            _clock.Advance(TimeSpan.FromMinutes(2));
            return Task.FromResult("done");
        }, Ct);

        var (claim, now) = Assert.Single(_store.Claims);
        Assert.Equal(Start, now);
        Assert.Equal(Start + TimeSpan.FromHours(1), claim.ExpiresAt);
        Assert.Equal(Start + TimeSpan.FromMinutes(5), claim.InProgressUntil);
        Assert.Equal(IdempotencyStatus.InProgress, claim.Status);
        Assert.Equal(("k", "done", Start + TimeSpan.FromMinutes(2) + TimeSpan.FromHours(1)), Assert.Single(_store.Completions));
    }

    [Fact]
    public async Task AlreadyCancelledCallClaimsNothing()
    {
        var executor = new IdempotentExecutor(_store, _clock, new IdempotencyOptions());

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            executor.ExecuteAsync("k", Payload, _ => Task.FromResult("done"), new CancellationToken(canceled: true)));

        Assert.Empty(_store.Claims);
    }

    [Fact]
    public async Task ResultIsRecordedEvenWhenTheCallerCancelsAfterTheWorkFinished()
    {
        var executor = new IdempotentExecutor(_store, _clock, new IdempotencyOptions());
        using var cancellation = new CancellationTokenSource();

        var outcome = await executor.ExecuteAsync("k", Payload, async _ =>
        {
            await cancellation.CancelAsync();
            return "done";
        }, cancellation.Token);

        Assert.Equal(new IdempotencyOutcome.Executed<string>("done"), outcome);
        Assert.Single(_store.Completions);
    }

    [Fact]
    public async Task WorkFailureAndReleaseFailureAreReportedTogether()
    {
        _store.FailRelease = true;
        var executor = new IdempotentExecutor(_store, _clock, new IdempotencyOptions());

        var failure = await Assert.ThrowsAsync<AggregateException>(() =>
            executor.ExecuteAsync<string>("k", Payload, _ => throw new InvalidOperationException("work"), Ct));

        Assert.Collection(
            failure.InnerExceptions,
            work => Assert.Equal("work", Assert.IsType<InvalidOperationException>(work).Message),
            release => Assert.IsType<TimeoutException>(release));
    }

    [Fact]
    public async Task ResultIsReturnedWhenTheWorkSucceededButItsCompletionCouldNotBeStored()
    {
        _store.FailComplete = true;
        var executor = new IdempotentExecutor(_store, _clock, new IdempotencyOptions());
        var runs = 0;

        var outcome = await executor.ExecuteAsync("k", Payload, _ =>
        {
            runs++;
            return Task.FromResult("done");
        }, Ct);

        Assert.Equal(new IdempotencyOutcome.Executed<string>("done"), outcome);
        Assert.Equal(1, runs);
    }

    private sealed class RecordingStore : IIdempotencyStore
    {
        public List<(IdempotencyRecord Claim, DateTimeOffset Now)> Claims { get; } = [];

        public List<(string Key, string Result, DateTimeOffset ExpiresAt)> Completions { get; } = [];

        public bool FailRelease { get; set; }

        public bool FailComplete { get; set; }

        public Task<IdempotencyRecord?> TryClaimAsync(IdempotencyRecord claim, DateTimeOffset now, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Claims.Add((claim, now));
            return Task.FromResult<IdempotencyRecord?>(null);
        }

        public Task CompleteAsync(string key, string payloadHash, string result, DateTimeOffset expiresAt, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (FailComplete)
            {
                return Task.FromException(new TimeoutException("store unreachable"));
            }

            Completions.Add((key, result, expiresAt));
            return Task.CompletedTask;
        }

        public Task ReleaseAsync(string key, string payloadHash, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return FailRelease ? Task.FromException(new TimeoutException("store unreachable")) : Task.CompletedTask;
        }
    }
}
