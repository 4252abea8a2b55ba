using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

namespace Monetization.Aws.Ledger;

/// <summary>
/// The ledger's single table: partition key <c>pk</c> only, items expire through the <c>expiresAt</c> TTL attribute.
/// One sparse index, <see cref="SettlingIndex"/>, holds the subscribers whose key is settling (disabled, still in its
/// usage plan), by plan and by when access ended. The deployed table comes from the SAM template; this creates the
/// same shape for tests and the local sandbox.
/// </summary>
public static class LedgerTable
{
    public const string PartitionKey = "pk";

    public const string TtlAttribute = "expiresAt";

    public const string SettlingIndex = "settling";

    public const string SettlingPlanAttribute = "settlingPlan";

    public const string SettlingSinceAttribute = "settlingSince";

    public static async Task CreateAsync(IAmazonDynamoDB dynamoDb, string tableName, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dynamoDb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);

        await dynamoDb.CreateTableAsync(
            new CreateTableRequest
            {
                TableName = tableName,
                BillingMode = BillingMode.PAY_PER_REQUEST,
                KeySchema = [new KeySchemaElement(PartitionKey, KeyType.HASH)],
                AttributeDefinitions =
                [
                    new AttributeDefinition(PartitionKey, ScalarAttributeType.S),
                    new AttributeDefinition(SettlingPlanAttribute, ScalarAttributeType.S),
                    new AttributeDefinition(SettlingSinceAttribute, ScalarAttributeType.S),
                ],
                GlobalSecondaryIndexes =
                [
                    new GlobalSecondaryIndex
                    {
                        IndexName = SettlingIndex,
                        KeySchema = [new KeySchemaElement(SettlingPlanAttribute, KeyType.HASH), new KeySchemaElement(SettlingSinceAttribute, KeyType.RANGE)],
                        Projection = new Projection { ProjectionType = ProjectionType.ALL },
                    },
                ],
            },
            cancellationToken);

        await WaitUntilActiveAsync(dynamoDb, tableName, cancellationToken);

        await dynamoDb.UpdateTimeToLiveAsync(
            new UpdateTimeToLiveRequest
            {
                TableName = tableName,
                TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = TtlAttribute, Enabled = true },
            },
            cancellationToken);
    }

    private static async Task WaitUntilActiveAsync(IAmazonDynamoDB dynamoDb, string tableName, CancellationToken cancellationToken)
    {
        // A real table takes seconds to become ACTIVE and refuses the TTL update until then.
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var description = await dynamoDb.DescribeTableAsync(new DescribeTableRequest { TableName = tableName }, cancellationToken);
            if (description.Table.TableStatus == TableStatus.ACTIVE)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Table {tableName} is still {description.Table.TableStatus} after two minutes.");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
