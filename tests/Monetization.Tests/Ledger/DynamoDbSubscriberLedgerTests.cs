using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;

namespace Monetization.Tests.Ledger;

public sealed class DynamoDbSubscriberLedgerTests(LedgerMotoFixture moto) : IClassFixture<LedgerMotoFixture>, IDisposable
{
    private static readonly DateTimeOffset Created = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly AmazonDynamoDBClient _dynamoDb = moto.CreateClient();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dynamoDb.Dispose();

    [Fact]
    public async Task CreatedSubscriberIsReadBackAtVersionOne()
    {
        var (ledger, _) = await NewLedgerAsync();
        var ada = StripeSubscriber("ada@example.com");

        Assert.True(await ledger.TryCreateAsync(ada, Ct));

        Assert.Equal(ada with { Version = 1 }, await ledger.GetAsync(ada.Id, Ct));
    }

    [Fact]
    public async Task CreatingTheSameSubscriberTwiceKeepsTheFirstAndReturnsFalse()
    {
        var (ledger, _) = await NewLedgerAsync();
        var ada = StripeSubscriber("ada@example.com");
        await ledger.TryCreateAsync(ada, Ct);

        var second = await ledger.TryCreateAsync(ada with { FirstName = "Augusta", ApiKeyId = "key-2" }, Ct);

        Assert.False(second);
        Assert.Equal(ada with { Version = 1 }, await ledger.GetAsync(ada.Id, Ct));
    }

    [Fact]
    public async Task ConcurrentCreatesOfOneSubscriberLetExactlyOneWin()
    {
        var (ledger, _) = await NewLedgerAsync();
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var creates = Enumerable.Range(0, 20)
            .Select(i => Task.Run(
                async () =>
                {
                    await start.Task;
                    return await ledger.TryCreateAsync(StripeSubscriber("ada@example.com") with { ApiKeyId = $"key-{i}" }, Ct);
                },
                Ct))
            .ToArray();

        start.SetResult();
        var results = await Task.WhenAll(creates);

        var winner = Assert.Single(Enumerable.Range(0, 20), i => results[i]);
        Assert.Equal($"key-{winner}", (await ledger.GetAsync("stripe#ada@example.com", Ct))?.ApiKeyId);
    }

    [Fact]
    public async Task EveryFieldRoundTripsExactly()
    {
        var (ledger, _) = await NewLedgerAsync();
        var buyer = new Subscriber
        {
            Id = "mp#cust-123",
            Channel = Channel.Marketplace,
            Status = SubscriberStatus.Suspended,
            ApiKeyId = "a1b2c3",
            UsagePlanId = "plan-mp",
            Email = "buyer@example.com",
            FirstName = "Émilie",
            LastName = "du Châtelet",
            StripeCustomerId = "cus_123",
            StripeSubscriptionId = "sub_123",
            MarketplaceCustomerIdentifier = "cust-123",
            CustomerAwsAccountId = "123456789012",
            ProductCode = "prod-abc",
            LicenseArn = "arn:aws:license-manager::123456789012:license:l-1",
            Registered = true,
            Subscribed = true,
            FreePlan = true,
            LastEventAt = new DateTimeOffset(2026, 3, 2, 8, 30, 15, TimeSpan.FromHours(-5)).AddTicks(1234567),
            LastEvent = "unsubscribe-pending",
            LastNoticeAt = new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero).AddTicks(7),
            LastNotice = "entitlement-updated",
            MergedInto = "mp#cid:cust-0",
            CreatedAt = Created.AddTicks(1),
            UpdatedAt = new DateTimeOffset(2026, 3, 2, 13, 30, 16, TimeSpan.FromHours(5.5)),
        };

        await ledger.TryCreateAsync(buyer, Ct);
        var read = await ledger.GetAsync(buyer.Id, Ct);

        Assert.Equal(buyer with { Version = 1 }, read);
        Assert.Equal(buyer.LastEventAt.Value.Offset, read?.LastEventAt?.Offset);
        Assert.Equal(buyer.UpdatedAt.Offset, read?.UpdatedAt.Offset);
    }

    [Fact]
    public async Task UnsetFieldsAreAbsentAttributesAndEnumsAreNames()
    {
        var (ledger, tableName) = await NewLedgerAsync();
        var ada = StripeSubscriber("ada@example.com") with { ApiKeyId = null, Email = null };

        await ledger.TryCreateAsync(ada, Ct);

        var item = await ReadItemAsync(tableName, "SUB#stripe#ada@example.com");
        Assert.NotNull(item);
        Assert.Equal("Stripe", item["channel"].S);
        Assert.Equal("Pending", item["status"].S);
        Assert.Equal("1", item["version"].N);
        Assert.False(item.ContainsKey("apiKeyId"));
        Assert.False(item.ContainsKey("email"));
        Assert.False(item.ContainsKey("lastEventAt"));
        Assert.DoesNotContain(item.Values, value => value.NULL == true);
        Assert.Equal(ada with { Version = 1 }, await ledger.GetAsync(ada.Id, Ct));
    }

    [Fact]
    public async Task ReplacingWithTheCurrentVersionStoresTheChangeAndBumpsTheVersion()
    {
        var (ledger, _) = await NewLedgerAsync();
        var ada = StripeSubscriber("ada@example.com");
        await ledger.TryCreateAsync(ada, Ct);
        var read = await ledger.GetAsync(ada.Id, Ct) ?? throw new InvalidOperationException("not created");

        var replaced = await ledger.TryReplaceAsync(read with { Status = SubscriberStatus.Active, Subscribed = true }, read.Version, Ct);

        Assert.True(replaced);
        Assert.Equal(read with { Status = SubscriberStatus.Active, Subscribed = true, Version = 2 }, await ledger.GetAsync(ada.Id, Ct));
    }

    [Fact]
    public async Task ReplacingWithAStaleVersionReturnsFalseAndKeepsTheNewerRecord()
    {
        var (ledger, _) = await NewLedgerAsync();
        var ada = StripeSubscriber("ada@example.com");
        await ledger.TryCreateAsync(ada, Ct);
        await ledger.TryReplaceAsync(ada with { Status = SubscriberStatus.Active }, 1, Ct);

        var stale = await ledger.TryReplaceAsync(ada with { Status = SubscriberStatus.Cancelled, ApiKeyId = "key-9" }, 1, Ct);

        Assert.False(stale);
        Assert.Equal(ada with { Status = SubscriberStatus.Active, Version = 2 }, await ledger.GetAsync(ada.Id, Ct));
    }

    [Fact]
    public async Task ReplacingASubscriberThatWasNeverCreatedReturnsFalse()
    {
        var (ledger, _) = await NewLedgerAsync();

        Assert.False(await ledger.TryReplaceAsync(StripeSubscriber("ghost@example.com"), 1, Ct));
        Assert.Null(await ledger.GetAsync("stripe#ghost@example.com", Ct));
    }

    [Fact]
    public async Task WritingASubscriberWithKeyAndStripeSubscriptionStoresTheSubscriberAndOnlyThePointerTheUsageReporterReads()
    {
        var (ledger, tableName) = await NewLedgerAsync();
        var ada = StripeSubscriber("ada@example.com") with { StripeSubscriptionId = "sub_1", ApiKeyId = null };

        await ledger.TryCreateAsync(ada, Ct);
        await ledger.TryReplaceAsync(ada with { StripeSubscriptionId = "sub_2", ApiKeyId = "key-2" }, 1, Ct);

        Assert.Equal(["APIKEY#key-2", "SUB#stripe#ada@example.com"], (await AllKeysAsync(tableName)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AFreeAliasIsClaimedAndLeadsToTheSubscriber()
    {
        var (ledger, tableName) = await NewLedgerAsync();

        Assert.Equal("mp#cid:C1", await ledger.AddAliasAsync("mp#acct:845735284135:l-1", "mp#cid:C1", Ct));

        Assert.Equal("mp#cid:C1", await ledger.FindAliasAsync("mp#acct:845735284135:l-1", Ct));
        Assert.Equal(["ALIAS#mp#acct:845735284135:l-1"], await AllKeysAsync(tableName));
    }

    [Fact]
    public async Task ClaimingAnAliasAgainForTheSameSubscriberIsHarmless()
    {
        var (ledger, _) = await NewLedgerAsync();
        await ledger.AddAliasAsync("mp#acct:1:l-1", "mp#cid:C1", Ct);

        Assert.Equal("mp#cid:C1", await ledger.AddAliasAsync("mp#acct:1:l-1", "mp#cid:C1", Ct));
    }

    [Fact]
    public async Task AnAliasNamingOneSubscriberIsNotMovedToAnotherAndTheOwnerIsReported()
    {
        var (ledger, _) = await NewLedgerAsync();
        await ledger.AddAliasAsync("mp#acct:1:l-1", "mp#cid:C1", Ct);

        Assert.Equal("mp#cid:C1", await ledger.AddAliasAsync("mp#acct:1:l-1", "mp#cid:C2", Ct));

        Assert.Equal("mp#cid:C1", await ledger.FindAliasAsync("mp#acct:1:l-1", Ct));
    }

    [Fact]
    public async Task AnUnclaimedAliasNamesNoOne()
    {
        var (ledger, _) = await NewLedgerAsync();

        Assert.Null(await ledger.FindAliasAsync("mp#acct:1:l-1", Ct));
    }

    [Fact]
    public async Task AnAliasIsNoSubscriber()
    {
        var (ledger, _) = await NewLedgerAsync();
        await ledger.AddAliasAsync("mp#acct:1:l-1", "mp#cid:C1", Ct);

        Assert.Null(await ledger.GetAsync("mp#acct:1:l-1", Ct));
        Assert.True(await ledger.TryCreateAsync(StripeSubscriber("ada@example.com") with { Id = "mp#acct:1:l-1" }, Ct));
    }

    private static Subscriber StripeSubscriber(string email) => new()
    {
        Id = $"stripe#{email}",
        Channel = Channel.Stripe,
        Status = SubscriberStatus.Pending,
        ApiKeyId = $"key-{email}",
        Email = email,
        FirstName = "Ada",
        LastName = "Lovelace",
        CreatedAt = Created,
        UpdatedAt = Created,
    };

    private async Task<(DynamoDbSubscriberLedger Ledger, string TableName)> NewLedgerAsync()
    {
        var tableName = await moto.CreateTableAsync(_dynamoDb, Ct);
        return (new DynamoDbSubscriberLedger(_dynamoDb, tableName), tableName);
    }

    private async Task<List<string>> AllKeysAsync(string tableName)
    {
        var scan = await _dynamoDb.ScanAsync(new ScanRequest { TableName = tableName, ConsistentRead = true }, Ct);
        return [.. scan.Items.Select(i => i["pk"].S).Order(StringComparer.Ordinal)];
    }

    private async Task<Dictionary<string, AttributeValue>?> ReadItemAsync(string tableName, string pk)
    {
        var response = await _dynamoDb.GetItemAsync(
            new GetItemRequest { TableName = tableName, Key = new() { ["pk"] = new AttributeValue { S = pk } }, ConsistentRead = true },
            Ct);
        return response.Item is { Count: > 0 } item ? item : null;
    }
}
