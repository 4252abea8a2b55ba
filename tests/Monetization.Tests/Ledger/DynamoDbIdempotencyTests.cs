using System.Globalization;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Monetization.Aws.Ledger;
using Monetization.Core.Idempotency;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Ledger;

public sealed class DynamoDbIdempotencyTests(LedgerMotoFixture moto) : IClassFixture<LedgerMotoFixture>, IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Payload = Encoding.UTF8.GetBytes("""{"email":"ada@example.com"}""");
    private static readonly byte[] OtherPayload = Encoding.UTF8.GetBytes("""{"email":"grace@example.com"}""");
    private static readonly IdempotencyOptions Options = new();

    private readonly AmazonDynamoDBClient _dynamoDb = moto.CreateClient();
    private readonly ManualTimeProvider _clock = new(Start);
    private int _runs;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dynamoDb.Dispose();

    [Fact]
    public async Task FirstClaimRunsTheWorkAndStoresItsResult()
    {
        var (executor, tableName) = await NewExecutorAsync();

        var outcome = await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);

        Assert.Equal(new IdempotencyOutcome.Executed<string>("key-1"), outcome);
        Assert.Equal(1, _runs);
        var item = await ReadItemAsync(tableName, "IDEM#register-1");
        Assert.NotNull(item);
        Assert.Equal("COMPLETED", item["status"].S);
        Assert.Equal("key-1", item["result"].S);
        Assert.Equal(IdempotentExecutor.HashPayload(Payload), item["payloadHash"].S);
        Assert.Equal((Start + Options.RecordTtl).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), item["expiresAt"].N);
        Assert.False(item.ContainsKey("inProgressUntil"));
    }

    [Fact]
    public async Task SecondClaimOfSameKeyReplaysTheCompletedResult()
    {
        var (executor, _) = await NewExecutorAsync();
        await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);
        _clock.Advance(TimeSpan.FromHours(23));

        var outcome = await executor.ExecuteAsync("register-1", Payload, Work("key-2"), Ct);

        Assert.Equal(new IdempotencyOutcome.Replayed("key-1"), outcome);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task AnEmptyResultIsStoredAndReplayedAsEmpty()
    {
        var (executor, _) = await NewExecutorAsync();
        await executor.ExecuteAsync("noop", Payload, Work(string.Empty), Ct);

        var outcome = await executor.ExecuteAsync("noop", Payload, Work("other"), Ct);

        Assert.Equal(new IdempotencyOutcome.Replayed(string.Empty), outcome);
    }

    [Fact]
    public async Task SameKeyWithADifferentPayloadIsAPayloadMismatch()
    {
        var (executor, _) = await NewExecutorAsync();
        await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);

        var outcome = await executor.ExecuteAsync("register-1", OtherPayload, Work("key-2"), Ct);

        Assert.IsType<IdempotencyOutcome.PayloadMismatch>(outcome);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task DifferentPayloadMeetingAnInProgressClaimIsAPayloadMismatch()
    {
        var (executor, store) = await NewExecutorAndStoreAsync();
        await ClaimAsync(store, "register-1", Payload);

        var outcome = await executor.ExecuteAsync("register-1", OtherPayload, Work("key-2"), Ct);

        Assert.IsType<IdempotencyOutcome.PayloadMismatch>(outcome);
        Assert.Equal(0, _runs);
    }

    [Fact]
    public async Task ClaimHeldByAnotherCallerIsReportedInProgress()
    {
        var (executor, store) = await NewExecutorAndStoreAsync();
        await ClaimAsync(store, "register-1", Payload);
        _clock.Advance(Options.InProgressTimeout - TimeSpan.FromSeconds(1));

        var outcome = await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);

        Assert.Equal(new IdempotencyOutcome.InProgress(Start + Options.InProgressTimeout), outcome);
        Assert.Equal(0, _runs);
    }

    [Fact]
    public async Task StaleInProgressClaimIsClaimedAgain()
    {
        var (executor, store) = await NewExecutorAndStoreAsync();
        await ClaimAsync(store, "register-1", Payload);
        _clock.Advance(Options.InProgressTimeout + TimeSpan.FromMilliseconds(1));

        var outcome = await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);

        Assert.Equal(new IdempotencyOutcome.Executed<string>("key-1"), outcome);
        Assert.Equal(1, _runs);
    }

    [Fact]
    public async Task ExpiredRecordIsClaimedAgainEvenWithADifferentPayload()
    {
        var (executor, _) = await NewExecutorAsync();
        await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);
        _clock.Advance(Options.RecordTtl + TimeSpan.FromSeconds(1));

        var outcome = await executor.ExecuteAsync("register-1", OtherPayload, Work("key-2"), Ct);

        Assert.Equal(new IdempotencyOutcome.Executed<string>("key-2"), outcome);
        Assert.Equal(2, _runs);
    }

    [Fact]
    public async Task FailedWorkReleasesTheClaimSoARetryRunsIt()
    {
        var (executor, tableName) = await NewExecutorAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            executor.ExecuteAsync<string>("register-1", Payload, _ => throw new InvalidOperationException("API Gateway said no"), Ct));

        Assert.Null(await ReadItemAsync(tableName, "IDEM#register-1"));
        var retry = await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);
        Assert.Equal(new IdempotencyOutcome.Executed<string>("key-1"), retry);
    }

    [Fact]
    public async Task CancelledWorkReleasesTheClaimSoARetryRunsIt()
    {
        var (executor, tableName) = await NewExecutorAsync();
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(Ct);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => executor.ExecuteAsync(
            "register-1",
            Payload,
            async ct =>
            {
                await cancellation.CancelAsync();
                ct.ThrowIfCancellationRequested();
                return "never";
            },
            cancellation.Token));

        Assert.Null(await ReadItemAsync(tableName, "IDEM#register-1"));
        var retry = await executor.ExecuteAsync("register-1", Payload, Work("key-1"), Ct);
        Assert.Equal(new IdempotencyOutcome.Executed<string>("key-1"), retry);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(20)]
    public async Task ConcurrentClaimsOfOneKeyRunTheWorkExactlyOnce(int callers)
    {
        var (executor, _) = await NewExecutorAsync();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var othersAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answered = 0;

        async Task<IdempotencyOutcome> CallAsync()
        {
            await start.Task;
            var outcome = await executor.ExecuteAsync(
                "register-1",
                Payload,
                async ct =>
                {
                    Interlocked.Increment(ref _runs);

                    // Holding the claim until every other caller is answered makes them all meet it in progress; a
                    // second winner would wait here in vain and fail the test on the timeout.
                    await othersAnswered.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);
                    return "key-1";
                },
                Ct);
            if (outcome is not IdempotencyOutcome.Executed<string> && Interlocked.Increment(ref answered) == callers - 1)
            {
                othersAnswered.SetResult();
            }

            return outcome;
        }

        var calls = Enumerable.Range(0, callers).Select(_ => Task.Run(CallAsync, Ct)).ToArray();
        start.SetResult();
        var outcomes = await Task.WhenAll(calls);

        Assert.Equal(1, _runs);
        Assert.Equal(new IdempotencyOutcome.Executed<string>("key-1"), Assert.Single(outcomes.OfType<IdempotencyOutcome.Executed<string>>()));
        Assert.Equal(callers - 1, outcomes.OfType<IdempotencyOutcome.InProgress>().Count());
        Assert.Equal(new IdempotencyOutcome.Replayed("key-1"), await executor.ExecuteAsync("register-1", Payload, Work("key-2"), Ct));
    }

    [Fact]
    public async Task ConflictingClaimIsAnsweredByTheConditionalPutAloneWithoutARead()
    {
        var (_, store) = await NewExecutorAndStoreAsync();
        var first = await ClaimAsync(store, "register-1", Payload);
        var requests = new List<string>();
        _dynamoDb.BeforeRequestEvent += (_, e) =>
        {
            if (e is WebServiceRequestEventArgs webRequest)
            {
                lock (requests)
                {
                    requests.Add(webRequest.Request.GetType().Name);
                }
            }
        };

        var standing = await store.TryClaimAsync(first with { PayloadHash = "other" }, Start, Ct);

        Assert.Equal(first, standing);
        Assert.Equal([nameof(PutItemRequest)], requests);
    }

    [Fact]
    public async Task CallerWhoseClaimWasTakenOverCannotCompleteOrReleaseTheNewClaim()
    {
        var (_, store) = await NewExecutorAndStoreAsync();
        await ClaimAsync(store, "register-1", Payload);
        _clock.Advance(Options.InProgressTimeout + TimeSpan.FromSeconds(1));
        var takeover = await ClaimAsync(store, "register-1", OtherPayload);

        await store.CompleteAsync("register-1", IdempotentExecutor.HashPayload(Payload), "late", _clock.GetUtcNow() + Options.RecordTtl, Ct);
        await store.ReleaseAsync("register-1", IdempotentExecutor.HashPayload(Payload), Ct);

        var standing = await store.TryClaimAsync(takeover with { PayloadHash = "probe" }, _clock.GetUtcNow(), Ct);
        Assert.Equal(takeover, standing);
    }

    private Func<CancellationToken, Task<string>> Work(string result) => _ =>
    {
        Interlocked.Increment(ref _runs);
        return Task.FromResult(result);
    };

    private async Task<(IdempotentExecutor Executor, string TableName)> NewExecutorAsync()
    {
        var tableName = await moto.CreateTableAsync(_dynamoDb, Ct);
        return (new IdempotentExecutor(new DynamoDbIdempotencyStore(_dynamoDb, tableName), _clock, Options), tableName);
    }

    private async Task<(IdempotentExecutor Executor, DynamoDbIdempotencyStore Store)> NewExecutorAndStoreAsync()
    {
        var tableName = await moto.CreateTableAsync(_dynamoDb, Ct);
        var store = new DynamoDbIdempotencyStore(_dynamoDb, tableName);
        return (new IdempotentExecutor(store, _clock, Options), store);
    }

    /// <summary>Another caller's claim, taken now, exactly as the executor would take it.</summary>
    private async Task<IdempotencyRecord> ClaimAsync(DynamoDbIdempotencyStore store, string key, byte[] payload)
    {
        var now = _clock.GetUtcNow();
        var claim = new IdempotencyRecord(
            key,
            IdempotentExecutor.HashPayload(payload),
            IdempotencyStatus.InProgress,
            Result: null,
            ExpiresAt: now + Options.RecordTtl,
            InProgressUntil: now + Options.InProgressTimeout);
        Assert.Null(await store.TryClaimAsync(claim, now, Ct));
        return claim;
    }

    private async Task<Dictionary<string, AttributeValue>?> ReadItemAsync(string tableName, string pk)
    {
        var response = await _dynamoDb.GetItemAsync(
            new GetItemRequest { TableName = tableName, Key = new() { ["pk"] = new AttributeValue { S = pk } }, ConsistentRead = true },
            Ct);
        return response.Item is { Count: > 0 } item ? item : null;
    }
}
