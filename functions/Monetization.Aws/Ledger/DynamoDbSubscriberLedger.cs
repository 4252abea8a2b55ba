using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Ledger;

namespace Monetization.Aws.Ledger;

/// <summary>
/// <see cref="ISubscriberLedger"/> on the ledger table: the subscriber at <c>SUB#&lt;id&gt;</c>, and pointer items
/// <c>KEY#&lt;apiKeyId&gt;</c> and <c>STRIPESUB#&lt;subscriptionId&gt;</c> holding <c>subscriberId</c>. Pointers are
/// written in the same transaction as the subscriber, and only when free or already ours, so one API key or Stripe
/// subscription can never lead to two subscribers.
/// </summary>
public sealed class DynamoDbSubscriberLedger : ISubscriberLedger
{
    internal const string CreateCondition = "attribute_not_exists(pk)";
    internal const string ReplaceCondition = "version = :expected";
    internal const string PointerCondition = "attribute_not_exists(pk) OR subscriberId = :id";

    private const string ConditionalCheckFailedReason = "ConditionalCheckFailed";

    private readonly IAmazonDynamoDB _dynamoDb;
    private readonly string _tableName;

    public DynamoDbSubscriberLedger(IAmazonDynamoDB dynamoDb, string tableName)
    {
        ArgumentNullException.ThrowIfNull(dynamoDb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _dynamoDb = dynamoDb;
        _tableName = tableName;
    }

    public async Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        var response = await DynamoDbFaults.CallAsync(
            "GetItem",
            ct => _dynamoDb.GetItemAsync(new GetItemRequest { TableName = _tableName, Key = SubscriberItem.Key(subscriberId), ConsistentRead = true }, ct),
            cancellationToken);
        return response.Item is { Count: > 0 } item ? SubscriberItem.FromItem(item) : null;
    }

    public Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentException.ThrowIfNullOrEmpty(subscriber.Id);
        var put = new Put
        {
            TableName = _tableName,
            Item = SubscriberItem.ToItem(subscriber, version: 1),
            ConditionExpression = CreateCondition,
        };
        return WriteAsync(put, subscriber, cancellationToken);
    }

    public Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentException.ThrowIfNullOrEmpty(subscriber.Id);
        var put = new Put
        {
            TableName = _tableName,
            Item = SubscriberItem.ToItem(subscriber, expectedVersion + 1),
            ConditionExpression = ReplaceCondition,
            ExpressionAttributeValues = new() { [":expected"] = SubscriberItem.Number(expectedVersion) },
        };
        return WriteAsync(put, subscriber, cancellationToken);
    }

    public Task<string?> FindIdByApiKeyAsync(string apiKeyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKeyId);
        return FollowPointerAsync(SubscriberItem.ApiKeyPointerPrefix + apiKeyId, cancellationToken);
    }

    public Task<string?> FindIdByStripeSubscriptionAsync(string stripeSubscriptionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stripeSubscriptionId);
        return FollowPointerAsync(SubscriberItem.StripeSubscriptionPointerPrefix + stripeSubscriptionId, cancellationToken);
    }

    private async Task<bool> WriteAsync(Put subscriberPut, Subscriber subscriber, CancellationToken cancellationToken)
    {
        // The ledger does not read before it writes, so it cannot tell a new pointer from an unchanged one; putting an
        // existing pointer again is harmless because the condition lets a subscriber rewrite its own.
        var pointerPuts = SubscriberItem.PointerKeys(subscriber)
            .Select(pk => new TransactWriteItem
            {
                Put = new Put
                {
                    TableName = _tableName,
                    Item = SubscriberItem.Pointer(pk, subscriber.Id),
                    ConditionExpression = PointerCondition,
                    ExpressionAttributeValues = new() { [":id"] = SubscriberItem.Text(subscriber.Id) },
                },
            })
            .ToList();

        if (pointerPuts.Count == 0)
        {
            // A lone put is half the cost of a one-item transaction and just as conditional.
            try
            {
                await DynamoDbFaults.CallAsync("PutItem", ct => _dynamoDb.PutItemAsync(
                    new PutItemRequest
                    {
                        TableName = _tableName,
                        Item = subscriberPut.Item,
                        ConditionExpression = subscriberPut.ConditionExpression,
                        ExpressionAttributeValues = subscriberPut.ExpressionAttributeValues,
                    },
                    ct), cancellationToken);
                return true;
            }
            catch (ConditionalCheckFailedException)
            {
                return false;
            }
        }

        try
        {
            await DynamoDbFaults.CallAsync(
                "TransactWriteItems",
                ct => _dynamoDb.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = [new TransactWriteItem { Put = subscriberPut }, .. pointerPuts] }, ct),
                cancellationToken);
            return true;
        }
        catch (TransactionCanceledException cancelled) when (cancelled.CancellationReasons?.Any(IsConditionalCheckFailure) == true)
        {
            return false;
        }
    }

    private static bool IsConditionalCheckFailure(CancellationReason reason) =>
        string.Equals(reason.Code, ConditionalCheckFailedReason, StringComparison.Ordinal);

    private async Task<string?> FollowPointerAsync(string pk, CancellationToken cancellationToken)
    {
        var response = await DynamoDbFaults.CallAsync("GetItem", ct => _dynamoDb.GetItemAsync(
            new GetItemRequest
            {
                TableName = _tableName,
                Key = SubscriberItem.PartitionKey(pk),
                ConsistentRead = true,
                ProjectionExpression = SubscriberItem.SubscriberId,
            },
            ct), cancellationToken);
        return response.Item is { Count: > 0 } item && item.TryGetValue(SubscriberItem.SubscriberId, out var id) ? id.S : null;
    }
}
