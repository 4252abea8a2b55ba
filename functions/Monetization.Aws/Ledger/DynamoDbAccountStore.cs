using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Accounts;

namespace Monetization.Aws.Ledger;

/// <summary>
/// <see cref="IAccountStore"/> on the ledger table: sign-in links at <c>SIGNIN#&lt;token hash&gt;</c>, sessions at
/// <c>SESSION#&lt;token hash&gt;</c>, link counters at <c>LIMIT#&lt;budget&gt;</c>. Each item carries the table's TTL attribute
/// (epoch seconds), and every read and conditional write compares it with the caller's "now", since the TTL deletes
/// expired items only eventually.
/// </summary>
public sealed class DynamoDbAccountStore : IAccountStore
{
    internal const string SignInPrefix = "SIGNIN#";
    internal const string SessionPrefix = "SESSION#";
    internal const string LimitPrefix = "LIMIT#";

    private const string Email = "email";
    private const string FirstName = "firstName";
    private const string LastName = "lastName";
    private const string Plan = "plan";
    private const string SubscriberId = "subscriberId";
    private const string Count = "uses";
    private const string Expires = LedgerTable.TtlAttribute;

    private readonly IAmazonDynamoDB _dynamoDb;
    private readonly string _tableName;

    public DynamoDbAccountStore(IAmazonDynamoDB dynamoDb, string tableName)
    {
        ArgumentNullException.ThrowIfNull(dynamoDb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _dynamoDb = dynamoDb;
        _tableName = tableName;
    }

    public async Task<bool> TryCountAsync(string budget, int limit, DateTimeOffset windowEnds, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(budget);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        try
        {
            await DynamoDbFaults.CallAsync("UpdateItem", ct => _dynamoDb.UpdateItemAsync(
                new UpdateItemRequest
                {
                    TableName = _tableName,
                    Key = SubscriberItem.PartitionKey(LimitPrefix + budget),
                    UpdateExpression = $"ADD {Count} :one SET {Expires} = :expires",
                    ConditionExpression = $"attribute_not_exists({Count}) OR {Count} < :limit",
                    ExpressionAttributeValues = new()
                    {
                        [":one"] = SubscriberItem.Number(1),
                        [":limit"] = SubscriberItem.Number(limit),
                        [":expires"] = IdempotencyItem.EpochSeconds(windowEnds),
                    },
                },
                ct), cancellationToken);
            return true;
        }
        catch (ConditionalCheckFailedException)
        {
            return false;
        }
    }

    public Task SaveSignInAsync(string tokenHash, PendingSignIn link, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenHash);
        ArgumentNullException.ThrowIfNull(link);
        var item = SubscriberItem.PartitionKey(SignInPrefix + tokenHash);
        item[Email] = SubscriberItem.Text(link.Email);
        item[FirstName] = SubscriberItem.Text(link.FirstName);
        item[LastName] = SubscriberItem.Text(link.LastName);
        if (PlanChoices.NameOf(link.Plan) is { } plan)
        {
            item[Plan] = SubscriberItem.Text(plan);
        }

        item[Expires] = IdempotencyItem.EpochSeconds(link.ExpiresAt);
        return PutNewAsync(item, cancellationToken);
    }

    public async Task<PendingSignIn?> FindSignInAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenHash);
        var item = await GetAsync(SignInPrefix + tokenHash, now, cancellationToken);
        return item is null ? null : SignInOf(item);
    }

    public async Task<PendingSignIn?> ConsumeSignInAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(tokenHash);
        try
        {
            var response = await DynamoDbFaults.CallAsync("DeleteItem", ct => _dynamoDb.DeleteItemAsync(
                new DeleteItemRequest
                {
                    TableName = _tableName,
                    Key = SubscriberItem.PartitionKey(SignInPrefix + tokenHash),
                    ConditionExpression = $"attribute_exists(pk) AND {Expires} > :now",
                    ExpressionAttributeValues = new() { [":now"] = IdempotencyItem.EpochSeconds(now) },
                    ReturnValues = ReturnValue.ALL_OLD,
                },
                ct), cancellationToken);
            return response.Attributes is { Count: > 0 } item ? SignInOf(item) : null;
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    public Task SaveSessionAsync(string sessionHash, AccountSession session, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionHash);
        ArgumentNullException.ThrowIfNull(session);
        var item = SubscriberItem.PartitionKey(SessionPrefix + sessionHash);
        item[SubscriberId] = SubscriberItem.Text(session.SubscriberId);
        item[Expires] = IdempotencyItem.EpochSeconds(session.ExpiresAt);
        return PutNewAsync(item, cancellationToken);
    }

    public async Task<AccountSession?> FindSessionAsync(string sessionHash, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionHash);
        var item = await GetAsync(SessionPrefix + sessionHash, now, cancellationToken);
        return item is null ? null : new AccountSession(item[SubscriberId].S, ExpiresOf(item));
    }

    public async Task EndSessionAsync(string sessionHash, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(sessionHash);
        await DynamoDbFaults.CallAsync("DeleteItem", ct => _dynamoDb.DeleteItemAsync(
            new DeleteItemRequest { TableName = _tableName, Key = SubscriberItem.PartitionKey(SessionPrefix + sessionHash) },
            ct), cancellationToken);
    }

    /// <summary>Tokens are random and never reused; a put that finds an item already there is a retry of itself.</summary>
    private async Task PutNewAsync(Dictionary<string, AttributeValue> item, CancellationToken cancellationToken) =>
        await DynamoDbFaults.CallAsync("PutItem", ct => _dynamoDb.PutItemAsync(new PutItemRequest { TableName = _tableName, Item = item }, ct), cancellationToken);

    private async Task<Dictionary<string, AttributeValue>?> GetAsync(string pk, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var response = await DynamoDbFaults.CallAsync(
            "GetItem",
            ct => _dynamoDb.GetItemAsync(new GetItemRequest { TableName = _tableName, Key = SubscriberItem.PartitionKey(pk), ConsistentRead = true }, ct),
            cancellationToken);
        return response.Item is { Count: > 0 } item && ExpiresOf(item) > now ? item : null;
    }

    private static PendingSignIn SignInOf(Dictionary<string, AttributeValue> item) =>
        new(
            item[Email].S,
            item[FirstName].S,
            item[LastName].S,
            ExpiresOf(item),
            item.TryGetValue(Plan, out var plan) ? PlanChoices.Parse(plan.S) ?? PlanChoice.None : PlanChoice.None);

    private static DateTimeOffset ExpiresOf(Dictionary<string, AttributeValue> item) =>
        DateTimeOffset.FromUnixTimeSeconds(long.Parse(item[Expires].N, CultureInfo.InvariantCulture));
}
