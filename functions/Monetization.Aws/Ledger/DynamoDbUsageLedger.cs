using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Aws.Ledger;

/// <summary>
/// <see cref="IUsageLedger"/> on the ledger table. Watermarks are one item per key per UTC day,
/// <c>USAGE#&lt;key id&gt;#&lt;yyyy-MM-dd&gt;</c>, with <c>reported</c> (units billed), the claim in flight
/// (<c>pendingFrom</c>, <c>pendingTo</c>, <c>pendingAt</c>) and <c>lastReportedAt</c>; they expire 40 days after their
/// day. Every write is a single conditional UpdateItem. Transactions were measured and not chosen: they cost twice the
/// write capacity, one refused condition cancels all 100 items, and moto needs seconds per 100-item transaction;
/// BatchWriteItem cannot be conditional. Reads are BatchGetItem, 100 keys a call, unprocessed keys retried.
/// </summary>
public sealed class DynamoDbUsageLedger : IUsageLedger
{
    internal const string UsagePrefix = "USAGE#";
    private const int BatchGetLimit = 100;
    private const string Reported = "reported";
    private const string PendingFrom = "pendingFrom";
    private const string PendingTo = "pendingTo";
    private const string PendingAt = "pendingAt";
    private const string LastReportedAt = "lastReportedAt";
    private static readonly TimeSpan Retention = TimeSpan.FromDays(40);

    private readonly IAmazonDynamoDB _dynamoDb;
    private readonly string _tableName;

    public DynamoDbUsageLedger(IAmazonDynamoDB dynamoDb, string tableName)
    {
        ArgumentNullException.ThrowIfNull(dynamoDb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _dynamoDb = dynamoDb;
        _tableName = tableName;
    }

    public async Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(apiKeyIds);
        var pointers = await BatchGetAsync([.. apiKeyIds.Distinct(StringComparer.Ordinal).Select(id => SubscriberItem.ApiKeyPrefix + id)], cancellationToken);
        var holderOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (pk, item) in pointers)
        {
            if (SubscriberItem.PointerTarget(item) is { } subscriberId)
            {
                holderOf[pk[SubscriberItem.ApiKeyPrefix.Length..]] = subscriberId;
            }
        }

        var records = await BatchGetAsync([.. holderOf.Values.Distinct(StringComparer.Ordinal).Select(id => SubscriberItem.SubscriberPrefix + id)], cancellationToken);
        var found = new Dictionary<string, Subscriber>(StringComparer.Ordinal);
        foreach (var (keyId, subscriberId) in holderOf)
        {
            // The pointer is written with the record; only a record that still holds the key (current or retiring) answers for it.
            if (records.TryGetValue(SubscriberItem.SubscriberPrefix + subscriberId, out var item)
                && SubscriberItem.FromItem(item) is { } subscriber
                && subscriber.HoldsKey(keyId))
            {
                found[keyId] = subscriber;
            }
        }

        return found;
    }

    public async Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(usagePlanId);
        var found = new List<Subscriber>();
        Dictionary<string, AttributeValue>? start = null;
        do
        {
            var page = await DynamoDbFaults.CallAsync(
                "Query",
                ct => _dynamoDb.QueryAsync(
                    new QueryRequest
                    {
                        TableName = _tableName,
                        IndexName = LedgerTable.SettlingIndex,
                        KeyConditionExpression = "#plan = :plan AND #since <= :by",
                        ExpressionAttributeNames = new() { ["#plan"] = LedgerTable.SettlingPlanAttribute, ["#since"] = LedgerTable.SettlingSinceAttribute },
                        ExpressionAttributeValues = new()
                        {
                            [":plan"] = SubscriberItem.Text(usagePlanId),
                            [":by"] = SubscriberItem.Text(SubscriberItem.SortableTimestamp(by)),
                        },
                        ExclusiveStartKey = start,
                    },
                    ct),
                cancellationToken);
            found.AddRange(page.Items.Select(SubscriberItem.FromItem));
            start = page.LastEvaluatedKey is { Count: > 0 } last ? last : null;
        }
        while (start is not null);

        return found;
    }

    public async Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(days);
        var items = await BatchGetAsync([.. days.Select(PartitionKeyOf).Distinct(StringComparer.Ordinal)], cancellationToken);
        return [.. days.Select(day => items.TryGetValue(PartitionKeyOf(day), out var item) ? ToWatermark(day, item) : new UsageWatermark(day, 0, null, null))];
    }

    public Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(day);
        ArgumentNullException.ThrowIfNull(claim);
        var values = new Dictionary<string, AttributeValue>
        {
            [":from"] = SubscriberItem.Number(claim.From),
            [":to"] = SubscriberItem.Number(claim.To),
            [":at"] = SubscriberItem.Number(claim.Timestamp.ToUnixTimeSeconds()),
            [":ttl"] = SubscriberItem.Number(ExpiresAt(day)),
        };
        var condition = $"attribute_not_exists({PendingTo}) AND ";
        if (claim.From == 0)
        {
            condition += $"attribute_not_exists({Reported})";
            values.Remove(":from");
            values[":zero"] = SubscriberItem.Number(0);
        }
        else
        {
            condition += $"{Reported} = :from";
        }

        return TryUpdateAsync(
            day,
            claim.From == 0
                ? $"SET {PendingFrom} = :zero, {PendingTo} = :to, {PendingAt} = :at, {LedgerTable.TtlAttribute} = :ttl"
                : $"SET {PendingFrom} = :from, {PendingTo} = :to, {PendingAt} = :at, {LedgerTable.TtlAttribute} = :ttl",
            condition,
            values,
            cancellationToken);
    }

    public Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(day);
        ArgumentNullException.ThrowIfNull(claim);
        return TryUpdateAsync(
            day,
            $"SET {Reported} = :to, {LastReportedAt} = :at REMOVE {PendingFrom}, {PendingTo}, {PendingAt}",
            $"{PendingTo} = :to AND {PendingAt} = :at",
            new Dictionary<string, AttributeValue>
            {
                [":to"] = SubscriberItem.Number(claim.To),
                [":at"] = SubscriberItem.Number(claim.Timestamp.ToUnixTimeSeconds()),
            },
            cancellationToken);
    }

    public Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(day);
        ArgumentNullException.ThrowIfNull(claim);
        return TryUpdateAsync(
            day,
            $"REMOVE {PendingFrom}, {PendingTo}, {PendingAt}",
            $"{PendingTo} = :to AND {PendingAt} = :at",
            new Dictionary<string, AttributeValue>
            {
                [":to"] = SubscriberItem.Number(claim.To),
                [":at"] = SubscriberItem.Number(claim.Timestamp.ToUnixTimeSeconds()),
            },
            cancellationToken);
    }

    internal static string PartitionKeyOf(UsageDay day) =>
        string.Create(CultureInfo.InvariantCulture, $"{UsagePrefix}{day.ApiKeyId}#{day.Day:yyyy-MM-dd}");

    private static long ExpiresAt(UsageDay day) =>
        new DateTimeOffset(day.Day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).Add(Retention).ToUnixTimeSeconds();

    private static UsageWatermark ToWatermark(UsageDay day, Dictionary<string, AttributeValue> item)
    {
        var reported = Long(item, Reported) ?? 0;
        var pending = Long(item, PendingTo) is { } to && Long(item, PendingAt) is { } at
            ? new UsageClaim(Long(item, PendingFrom) ?? reported, to, DateTimeOffset.FromUnixTimeSeconds(at))
            : null;
        var last = Long(item, LastReportedAt) is { } lastAt ? DateTimeOffset.FromUnixTimeSeconds(lastAt) : (DateTimeOffset?)null;
        return new UsageWatermark(day, reported, pending, last);
    }

    private static long? Long(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) && value.N is { } n ? long.Parse(n, CultureInfo.InvariantCulture) : null;

    private async Task<bool> TryUpdateAsync(UsageDay day, string update, string condition, Dictionary<string, AttributeValue> values, CancellationToken cancellationToken)
    {
        try
        {
            await _dynamoDb.UpdateItemAsync(
                new UpdateItemRequest
                {
                    TableName = _tableName,
                    Key = SubscriberItem.PartitionKey(PartitionKeyOf(day)),
                    UpdateExpression = update,
                    ConditionExpression = condition,
                    ExpressionAttributeValues = values,
                },
                cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    /// <summary>Strongly consistent, 100 keys a call; keys DynamoDB left unprocessed are asked for again.</summary>
    private async Task<Dictionary<string, Dictionary<string, AttributeValue>>> BatchGetAsync(IReadOnlyList<string> partitionKeys, CancellationToken cancellationToken)
    {
        var found = new Dictionary<string, Dictionary<string, AttributeValue>>(StringComparer.Ordinal);
        foreach (var chunk in partitionKeys.Chunk(BatchGetLimit))
        {
            var keys = chunk.Select(SubscriberItem.PartitionKey).ToList();
            for (var attempt = 0; keys.Count > 0; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50 * Math.Min(attempt, 20)), cancellationToken);
                }

                var response = await _dynamoDb.BatchGetItemAsync(
                    new BatchGetItemRequest
                    {
                        RequestItems = new() { [_tableName] = new KeysAndAttributes { Keys = keys, ConsistentRead = true } },
                    },
                    cancellationToken);
                foreach (var item in response.Responses?.GetValueOrDefault(_tableName) ?? [])
                {
                    found[item[LedgerTable.PartitionKey].S] = item;
                }

                keys = response.UnprocessedKeys?.GetValueOrDefault(_tableName)?.Keys ?? [];
            }
        }

        return found;
    }
}
