using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Monetization.Core.Accounts;
using Monetization.Core.Idempotency;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Aws.Ledger;

public static class LedgerServiceCollectionExtensions
{
    /// <summary>
    /// The DynamoDB ledger and the idempotent executor on top of it. <paramref name="serviceUrl"/> overrides the
    /// endpoint (otherwise the SDK's own settings apply, <c>AWS_ENDPOINT_URL_DYNAMODB</c> included).
    /// </summary>
    public static IServiceCollection AddDynamoDbLedger(this IServiceCollection services, string tableName, Uri? serviceUrl = null, string? region = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tableName);
        return services.AddDynamoDbLedger(_ => tableName, serviceUrl, region);
    }

    /// <summary>
    /// As above, with the table name read when the ledger is first needed (from validated options, say). Without
    /// <paramref name="serviceUrl"/> and <paramref name="region"/> the bound <see cref="AwsSettings"/> give them.
    /// </summary>
    public static IServiceCollection AddDynamoDbLedger(this IServiceCollection services, Func<IServiceProvider, string> tableName, Uri? serviceUrl = null, string? region = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(tableName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IAmazonDynamoDB>(sp =>
        {
            var (endpoint, authenticationRegion) = (serviceUrl, region);
            if (endpoint is null && authenticationRegion is null && sp.GetService<IOptions<AwsSettings>>()?.Value is { } bound)
            {
                // Neither given: the host's bound Aws section decides, as for the other AWS clients.
                (endpoint, authenticationRegion) = (bound.ServiceUrl, string.IsNullOrWhiteSpace(bound.Region) ? null : bound.Region.Trim());
            }

            var config = new AmazonDynamoDBConfig();
            if (endpoint is not null)
            {
                config.ServiceURL = endpoint.ToString();
                config.AuthenticationRegion = authenticationRegion;
            }
            else if (authenticationRegion is not null)
            {
                config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(authenticationRegion);
            }

            return new AmazonDynamoDBClient(config);
        });
        services.TryAddSingleton(sp => new LedgerTableName(tableName(sp)));
        services.TryAddSingleton<ISubscriberLedger>(sp => new DynamoDbSubscriberLedger(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton<IUsageLedger>(sp => new DynamoDbUsageLedger(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton<IAccountStore>(sp => new DynamoDbAccountStore(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton<IIdempotencyStore>(sp => new DynamoDbIdempotencyStore(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton(new IdempotencyOptions());
        services.TryAddSingleton<IdempotentExecutor>();
        return services;
    }
}

/// <summary>The ledger's DynamoDB table, which also holds the account's API Gateway budget (<see cref="ApiGateway.ApiGatewayBudget"/>).</summary>
public sealed record LedgerTableName(string Value);
