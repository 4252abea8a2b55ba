using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Monetization.Aws.Ledger;
using Monetization.Emulators.Moto;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Ledger;

/// <summary>
/// moto_server for ledger tests. Requests are serialised because the tests prove exactly-once behaviour under
/// concurrency, which depends on DynamoDB's atomic conditional writes that threaded moto does not give.
/// </summary>
public sealed class LedgerMotoFixture : MotoFixture
{
    protected override MotoServerOptions Options => new() { SerializeRequests = true };

    public AmazonDynamoDBClient CreateClient() => new(
        new BasicAWSCredentials("testing", "testing"),
        new AmazonDynamoDBConfig { ServiceURL = Endpoint.ToString(), AuthenticationRegion = "us-east-1" });

    /// <summary>A fresh ledger table, so tests sharing this server never see each other's items.</summary>
    public async Task<string> CreateTableAsync(IAmazonDynamoDB dynamoDb, CancellationToken cancellationToken)
    {
        var tableName = $"ledger-{Guid.NewGuid():N}";
        await LedgerTable.CreateAsync(dynamoDb, tableName, cancellationToken);
        return tableName;
    }
}
