using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Idempotency;

namespace Monetization.Aws.Ledger;

/// <summary>
/// <see cref="IIdempotencyStore"/> on the ledger table, item <c>pk = IDEM#&lt;key&gt;</c>. A claim is one conditional
/// put that also returns the conflicting item, so both the common case and the conflict cost one round trip.
/// </summary>
public sealed class DynamoDbIdempotencyStore : IIdempotencyStore
{
    internal const string ClaimCondition =
        "attribute_not_exists(pk) OR expiresAt < :now OR (#status = :inprogress AND inProgressUntil < :nowMs)";

    internal const string OwnClaimCondition = "#status = :inprogress AND payloadHash = :hash";

    // Bounds the loop for the rare case where the conflicting record disappears between the failed put and the read.
    private const int MaxClaimAttempts = 3;

    private readonly IAmazonDynamoDB _dynamoDb;
    private readonly string _tableName;

    public DynamoDbIdempotencyStore(IAmazonDynamoDB dynamoDb, string tableName)
    {
        ArgumentNullException.ThrowIfNull(dynamoDb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _dynamoDb = dynamoDb;
        _tableName = tableName;
    }

    public async Task<IdempotencyRecord?> TryClaimAsync(IdempotencyRecord claim, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        var request = new PutItemRequest
        {
            TableName = _tableName,
            Item = IdempotencyItem.ToItem(claim),
            ConditionExpression = ClaimCondition,
            ExpressionAttributeNames = new() { ["#status"] = IdempotencyItem.Status },
            ExpressionAttributeValues = new()
            {
                [":now"] = IdempotencyItem.EpochSeconds(now),
                [":nowMs"] = IdempotencyItem.EpochMilliseconds(now),
                [":inprogress"] = new AttributeValue { S = IdempotencyItem.InProgressValue },
            },
            ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
        };

        for (var attempt = 1; attempt <= MaxClaimAttempts; attempt++)
        {
            try
            {
                await DynamoDbFaults.CallAsync("PutItem", ct => _dynamoDb.PutItemAsync(request, ct), cancellationToken);
                return null;
            }
            catch (ConditionalCheckFailedException failure)
            {
                if (failure.Item is { Count: > 0 } standing)
                {
                    return IdempotencyItem.FromItem(standing);
                }
            }

            // Only an endpoint that ignores ReturnValuesOnConditionCheckFailure gets here.
            var read = await DynamoDbFaults.CallAsync(
                "GetItem",
                ct => _dynamoDb.GetItemAsync(new GetItemRequest { TableName = _tableName, Key = IdempotencyItem.Key(claim.Key), ConsistentRead = true }, ct),
                cancellationToken);
            if (read.Item is { Count: > 0 } item)
            {
                return IdempotencyItem.FromItem(item);
            }
        }

        throw new InvalidOperationException(
            $"Idempotency key '{claim.Key}' could neither be claimed nor read after {MaxClaimAttempts} attempts.");
    }

    public async Task CompleteAsync(string key, string payloadHash, string result, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(payloadHash);
        ArgumentNullException.ThrowIfNull(result);
        try
        {
            await DynamoDbFaults.CallAsync("UpdateItem", ct => _dynamoDb.UpdateItemAsync(
                new UpdateItemRequest
                {
                    TableName = _tableName,
                    Key = IdempotencyItem.Key(key),
                    UpdateExpression = "SET #status = :completed, #result = :result, expiresAt = :expiresAt REMOVE inProgressUntil",
                    ConditionExpression = OwnClaimCondition,
                    ExpressionAttributeNames = new() { ["#status"] = IdempotencyItem.Status, ["#result"] = IdempotencyItem.Result },
                    ExpressionAttributeValues = new()
                    {
                        [":completed"] = new AttributeValue { S = IdempotencyItem.CompletedValue },
                        [":result"] = new AttributeValue { S = result },
                        [":expiresAt"] = IdempotencyItem.EpochSeconds(expiresAt),
                        [":inprogress"] = new AttributeValue { S = IdempotencyItem.InProgressValue },
                        [":hash"] = new AttributeValue { S = payloadHash },
                    },
                },
                ct), cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            // The claim went stale and another caller took it over; its record stands and this result is not stored.
        }
    }

    public async Task ReleaseAsync(string key, string payloadHash, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(payloadHash);
        try
        {
            await DynamoDbFaults.CallAsync("DeleteItem", ct => _dynamoDb.DeleteItemAsync(
                new DeleteItemRequest
                {
                    TableName = _tableName,
                    Key = IdempotencyItem.Key(key),
                    ConditionExpression = OwnClaimCondition,
                    ExpressionAttributeNames = new() { ["#status"] = IdempotencyItem.Status },
                    ExpressionAttributeValues = new()
                    {
                        [":inprogress"] = new AttributeValue { S = IdempotencyItem.InProgressValue },
                        [":hash"] = new AttributeValue { S = payloadHash },
                    },
                },
                ct), cancellationToken);
        }
        catch (ConditionalCheckFailedException)
        {
            // Someone else's record now stands under this key; deleting it would undo their work.
        }
    }
}
