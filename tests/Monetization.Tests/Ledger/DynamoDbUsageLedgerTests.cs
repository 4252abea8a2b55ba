using Amazon.DynamoDBv2;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Tests.Ledger;

public sealed class DynamoDbUsageLedgerTests(LedgerMotoFixture moto) : IClassFixture<LedgerMotoFixture>, IDisposable
{
    private static readonly DateTimeOffset At = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly UsageDay Day = new("key-1", new DateOnly(2026, 3, 1));

    private readonly AmazonDynamoDBClient _dynamoDb = moto.CreateClient();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dynamoDb.Dispose();

    [Fact]
    public async Task ApiKeysLeadToTheSubscribersHoldingThemInBatchesOfMoreThanAHundred()
    {
        var (ledger, usage) = await NewLedgerAsync();
        for (var i = 0; i < 150; i++)
        {
            await ledger.TryCreateAsync(Subscriber($"s{i}", $"key-{i}"), Ct);
        }

        var found = await usage.FindSubscribersByApiKeyAsync([.. Enumerable.Range(0, 150).Select(i => $"key-{i}"), "key-nobody"], Ct);

        Assert.Equal(150, found.Count);
        Assert.Equal("stripe#s42", found["key-42"].Id);
        Assert.False(found.ContainsKey("key-nobody"));
    }

    [Fact]
    public async Task AKeyHandedToAnotherRecordNoLongerLeadsToItsFormerHolder()
    {
        var (ledger, usage) = await NewLedgerAsync();
        var first = Subscriber("a", "key-shared");
        await ledger.TryCreateAsync(first, Ct);
        await ledger.TryReplaceAsync(first with { ApiKeyId = "key-other" }, 1, Ct);

        var found = await usage.FindSubscribersByApiKeyAsync(["key-shared", "key-other"], Ct);

        Assert.Equal(["key-other"], found.Keys);
    }

    [Fact]
    public async Task ARetiringKeyLeadsToItsHolderRoundTripsAndIsFoundSettlingFromItsRevocation()
    {
        var (ledger, usage) = await NewLedgerAsync();
        var retired = new RetiredKey("key-old", At.AddHours(24), DisabledAt: null);
        var stopped = new RetiredKey("key-older", At.AddHours(-1), DisabledAt: At.AddMinutes(-59).AddTicks(3));
        var holder = Subscriber("rotated", "key-old") with { UsagePlanId = "plan-1" };
        await ledger.TryCreateAsync(holder, Ct);
        await ledger.TryReplaceAsync(holder with { ApiKeyId = "key-new", RetiredKeys = [stopped, retired] }, 1, Ct);

        var found = await usage.FindSubscribersByApiKeyAsync(["key-old", "key-older", "key-new", "key-nobody"], Ct);
        var read = (await ledger.GetAsync(holder.Id, Ct))!;

        Assert.Equal(["key-new", "key-old"], found.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([stopped, retired], read.RetiredKeys);
        Assert.Null(read.SettlingSince);
        Assert.Empty(await usage.FindSettlingAsync("plan-1", At.AddHours(-2), Ct));
        Assert.Equal(holder.Id, Assert.Single(await usage.FindSettlingAsync("plan-1", At, Ct)).Id);

        // Forgetting the retired keys takes the record out of the index.
        await ledger.TryReplaceAsync(read with { RetiredKeys = [] }, read.Version, Ct);
        Assert.Empty(await usage.FindSettlingAsync("plan-1", At.AddDays(2), Ct));
    }

    [Fact]
    public async Task AnEndedKeysDeletionTimeAndTheDeletedKeysRoundTripAndTheRecordIsFoundWhenTheDeletionIsDue()
    {
        var (ledger, usage) = await NewLedgerAsync();
        var ended = Subscriber("ended", "key-ended") with
        {
            UsagePlanId = "plan-2",
            KeyDeleteAt = At.AddDays(30),
            DeletedKeys = [new DeletedKey("key-gone", At.AddMinutes(-3).AddTicks(7))],
        };
        await ledger.TryCreateAsync(ended, Ct);

        var read = (await ledger.GetAsync(ended.Id, Ct))!;

        Assert.Equal(ended.KeyDeleteAt, read.KeyDeleteAt);
        Assert.Equal(ended.DeletedKeys, read.DeletedKeys);
        Assert.Empty(await usage.FindSettlingAsync("plan-2", At.AddDays(29), Ct));
        Assert.True(Assert.Single(await usage.FindSettlingAsync("plan-2", At.AddDays(30), Ct)).KeyDeletableBy(At.AddDays(30)));

        // Access granted again: the stamp no longer counts, and the record leaves the index.
        await ledger.TryReplaceAsync(read with { Subscribed = true }, read.Version, Ct);
        Assert.Empty(await usage.FindSettlingAsync("plan-2", At.AddDays(31), Ct));
    }

    [Fact]
    public async Task AClaimMovesTheWatermarkOnlyWhenCommittedAndOnlyOneClaimIsInFlight()
    {
        var (_, usage) = await NewLedgerAsync();
        var claim = new UsageClaim(0, 10, At);

        Assert.True(await usage.TryClaimAsync(Day, claim, Ct));
        Assert.False(await usage.TryClaimAsync(Day, new UsageClaim(0, 12, At), Ct));
        Assert.Equal(new UsageWatermark(Day, 0, claim, null), Assert.Single(await usage.GetWatermarksAsync([Day], Ct)));

        Assert.False(await usage.TryCommitAsync(Day, new UsageClaim(0, 12, At), Ct));
        Assert.True(await usage.TryCommitAsync(Day, claim, Ct));
        Assert.False(await usage.TryCommitAsync(Day, claim, Ct));
        Assert.Equal(new UsageWatermark(Day, 10, null, At), Assert.Single(await usage.GetWatermarksAsync([Day], Ct)));
    }

    [Fact]
    public async Task AClaimFromAWatermarkThatHasMovedOnIsRefused()
    {
        var (_, usage) = await NewLedgerAsync();
        await usage.TryClaimAsync(Day, new UsageClaim(0, 10, At), Ct);
        await usage.TryCommitAsync(Day, new UsageClaim(0, 10, At), Ct);

        Assert.False(await usage.TryClaimAsync(Day, new UsageClaim(0, 15, At), Ct));
        Assert.False(await usage.TryClaimAsync(Day, new UsageClaim(8, 15, At), Ct));
        Assert.True(await usage.TryClaimAsync(Day, new UsageClaim(10, 15, At), Ct));
    }

    [Fact]
    public async Task AReleasedClaimLeavesTheWatermarkWhereItWas()
    {
        var (_, usage) = await NewLedgerAsync();
        var claim = new UsageClaim(0, 10, At);
        await usage.TryClaimAsync(Day, claim, Ct);

        Assert.True(await usage.TryReleaseAsync(Day, claim, Ct));

        Assert.Equal(new UsageWatermark(Day, 0, null, null), Assert.Single(await usage.GetWatermarksAsync([Day], Ct)));
        Assert.True(await usage.TryClaimAsync(Day, new UsageClaim(0, 11, At), Ct));
    }

    private static Subscriber Subscriber(string name, string apiKeyId) => new()
    {
        Id = $"stripe#{name}",
        Channel = Channel.Stripe,
        Status = SubscriberStatus.Active,
        ApiKeyId = apiKeyId,
        StripeCustomerId = "cus_" + name,
        CreatedAt = At,
        UpdatedAt = At,
    };

    private async Task<(DynamoDbSubscriberLedger Ledger, DynamoDbUsageLedger Usage)> NewLedgerAsync()
    {
        var tableName = await moto.CreateTableAsync(_dynamoDb, Ct);
        return (new DynamoDbSubscriberLedger(_dynamoDb, tableName), new DynamoDbUsageLedger(_dynamoDb, tableName));
    }
}
