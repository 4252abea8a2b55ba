using System.Globalization;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Idempotency;

namespace Monetization.Aws.Ledger;

/// <summary>
/// How an <see cref="IdempotencyRecord"/> is laid out in the ledger table. <c>expiresAt</c> is in epoch seconds
/// because DynamoDB's TTL reads it; <c>inProgressUntil</c> is in epoch milliseconds because a claim's timeout is
/// short enough for a second's rounding to matter.
/// </summary>
internal static class IdempotencyItem
{
    public const string KeyPrefix = "IDEM#";
    public const string PayloadHash = "payloadHash";
    public const string Status = "status";
    public const string Result = "result";
    public const string ExpiresAt = LedgerTable.TtlAttribute;
    public const string InProgressUntil = "inProgressUntil";

    public const string InProgressValue = "IN_PROGRESS";
    public const string CompletedValue = "COMPLETED";

    public static Dictionary<string, AttributeValue> Key(string key) =>
        new() { [LedgerTable.PartitionKey] = new AttributeValue { S = KeyPrefix + key } };

    public static Dictionary<string, AttributeValue> ToItem(IdempotencyRecord record)
    {
        var item = Key(record.Key);
        item[PayloadHash] = new AttributeValue { S = record.PayloadHash };
        item[Status] = new AttributeValue { S = ToValue(record.Status) };
        item[ExpiresAt] = EpochSeconds(record.ExpiresAt);
        item[InProgressUntil] = EpochMilliseconds(record.InProgressUntil);
        if (record.Result is not null)
        {
            item[Result] = new AttributeValue { S = record.Result };
        }

        return item;
    }

    public static IdempotencyRecord FromItem(Dictionary<string, AttributeValue> item)
    {
        var pk = item[LedgerTable.PartitionKey].S;
        return new IdempotencyRecord(
            pk[KeyPrefix.Length..],
            item[PayloadHash].S,
            ParseStatus(item[Status].S),
            item.TryGetValue(Result, out var result) ? result.S : null,
            DateTimeOffset.FromUnixTimeSeconds(long.Parse(item[ExpiresAt].N, CultureInfo.InvariantCulture)),
            item.TryGetValue(InProgressUntil, out var until)
                ? DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(until.N, CultureInfo.InvariantCulture))
                : DateTimeOffset.MinValue);
    }

    public static AttributeValue EpochSeconds(DateTimeOffset value) =>
        new() { N = value.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) };

    public static AttributeValue EpochMilliseconds(DateTimeOffset value) =>
        new() { N = value.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) };

    private static string ToValue(IdempotencyStatus status) => status switch
    {
        IdempotencyStatus.InProgress => InProgressValue,
        IdempotencyStatus.Completed => CompletedValue,
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    private static IdempotencyStatus ParseStatus(string value) => value switch
    {
        InProgressValue => IdempotencyStatus.InProgress,
        CompletedValue => IdempotencyStatus.Completed,
        _ => throw new InvalidDataException($"Unknown idempotency status '{value}' in the ledger."),
    };
}
