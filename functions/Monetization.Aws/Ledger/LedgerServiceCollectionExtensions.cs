using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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

    /// <summary>As above, with the table name read when the ledger is first needed (from validated options, say).</summary>
    public static IServiceCollection AddDynamoDbLedger(this IServiceCollection services, Func<IServiceProvider, string> tableName, Uri? serviceUrl = null, string? region = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(tableName);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IAmazonDynamoDB>(_ =>
        {
            var config = new AmazonDynamoDBConfig();
            if (serviceUrl is not null)
            {
                config.ServiceURL = serviceUrl.ToString();
                config.AuthenticationRegion = region;
            }
            else if (region is not null)
            {
                config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
            }

            return new AmazonDynamoDBClient(config);
        });
        services.TryAddSingleton<ISubscriberLedger>(sp => new DynamoDbSubscriberLedger(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton<IUsageLedger>(sp => new DynamoDbUsageLedger(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton<IIdempotencyStore>(sp => new DynamoDbIdempotencyStore(sp.GetRequiredService<IAmazonDynamoDB>(), tableName(sp)));
        services.TryAddSingleton(new IdempotencyOptions());
        services.TryAddSingleton<IdempotentExecutor>();
        return services;
    }
}
