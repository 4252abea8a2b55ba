using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Ledger;

namespace Monetization.Aws.Ledger;

/// <summary>
/// <see cref="ISubscriberLedger"/> on the ledger table: the subscriber at <c>SUB#&lt;id&gt;</c>, written with one
/// conditional PutItem, and alias pointers at <c>ALIAS#&lt;alias&gt;</c> holding <c>subscriberId</c>, written only when
/// free or already naming the same subscriber, so one alias can never lead to two subscribers. A record holding an
/// API key also points <c>APIKEY#&lt;key id&gt;</c> at itself, written in the same transaction as the record so that every
/// stored key has its pointer and a write costs one round trip; readers check the record still holds the key (a key
/// handed to another record moves its pointer). Stripe subscriptions
/// point to their subscriber like aliases, at <c>STRIPESUB#&lt;subscription id&gt;</c>.
/// </summary>
public sealed class DynamoDbSubscriberLedger : ISubscriberLedger
{
    internal const string CreateCondition = "attribute_not_exists(pk)";
    internal const string ReplaceCondition = "version = :expected";
    internal const string PointerCondition = "attribute_not_exists(pk) OR subscriberId = :id";

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

    public async Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentException.ThrowIfNullOrEmpty(subscriber.Id);
        return await TryPutAsync(
            subscriber,
            new PutItemRequest
            {
                TableName = _tableName,
                Item = SubscriberItem.ToItem(subscriber, version: 1),
                ConditionExpression = CreateCondition,
            },
            cancellationToken);
    }

    public async Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentException.ThrowIfNullOrEmpty(subscriber.Id);
        return await TryPutAsync(
            subscriber,
            new PutItemRequest
            {
                TableName = _tableName,
                Item = SubscriberItem.ToItem(subscriber, expectedVersion + 1),
                ConditionExpression = ReplaceCondition,
                ExpressionAttributeValues = new() { [":expected"] = SubscriberItem.Number(expectedVersion) },
            },
            cancellationToken);
    }

    public Task<string?> FindAliasAsync(string alias, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(alias);
        return FindPointerAsync(SubscriberItem.AliasPrefix + alias, cancellationToken);
    }

    public Task<string> AddAliasAsync(string alias, string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(alias);
        return AddPointerAsync(SubscriberItem.AliasPrefix + alias, subscriberId, cancellationToken);
    }

    public Task<string?> FindStripeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriptionId);
        return FindPointerAsync(SubscriberItem.StripeSubscriptionPrefix + subscriptionId, cancellationToken);
    }

    public Task<string> AddStripeSubscriptionAsync(string subscriptionId, string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriptionId);
        return AddPointerAsync(SubscriberItem.StripeSubscriptionPrefix + subscriptionId, subscriberId, cancellationToken);
    }

    private async Task<string?> FindPointerAsync(string pk, CancellationToken cancellationToken)
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
        return SubscriberItem.PointerTarget(response.Item);
    }

    private async Task<string> AddPointerAsync(string pk, string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        try
        {
            await DynamoDbFaults.CallAsync("PutItem", ct => _dynamoDb.PutItemAsync(
                new PutItemRequest
                {
                    TableName = _tableName,
                    Item = SubscriberItem.Pointer(pk, subscriberId),
                    ConditionExpression = PointerCondition,
                    ExpressionAttributeValues = new() { [":id"] = SubscriberItem.Text(subscriberId) },
                    ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
                },
                ct), cancellationToken);
            return subscriberId;
        }
        catch (ConditionalCheckFailedException failure)
        {
            // The pointer names someone else; an endpoint that ignores ReturnValuesOnConditionCheckFailure costs a read.
            return SubscriberItem.PointerTarget(failure.Item)
                ?? await FindPointerAsync(pk, cancellationToken)
                ?? throw new InvalidOperationException($"Pointer {pk} was refused but names no subscriber.", failure);
        }
    }

    /// <summary>The record alone with one conditional PutItem; a record holding a key together with its pointer in one transaction.</summary>
    private async Task<bool> TryPutAsync(Subscriber subscriber, PutItemRequest request, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(subscriber.ApiKeyId))
        {
            try
            {
                await DynamoDbFaults.CallAsync("PutItem", ct => _dynamoDb.PutItemAsync(request, ct), cancellationToken);
                return true;
            }
            catch (ConditionalCheckFailedException)
            {
                return false;
            }
        }

        var pointer = new Put { TableName = _tableName, Item = SubscriberItem.Pointer(SubscriberItem.ApiKeyPrefix + subscriber.ApiKeyId, subscriber.Id) };
        var record = new Put
        {
            TableName = _tableName,
            Item = request.Item,
            ConditionExpression = request.ConditionExpression,
            ExpressionAttributeValues = request.ExpressionAttributeValues,
        };
        try
        {
            await DynamoDbFaults.CallAsync(
                "TransactWriteItems",
                ct => _dynamoDb.TransactWriteItemsAsync(new TransactWriteItemsRequest { TransactItems = [new() { Put = pointer }, new() { Put = record }] }, ct),
                cancellationToken);
            return true;
        }
        catch (TransactionCanceledException cancelled) when (cancelled.CancellationReasons?.Any(r => r.Code == "ConditionalCheckFailed") == true)
        {
            return false;
        }
    }
}
