using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Core.Marketplace.Notifications;

namespace Monetization.SubscriptionEvents;

/// <summary>
/// The function's wiring from configuration: <c>Monetization:LedgerTableName</c>, <c>Monetization:MarketplaceUsagePlanId</c>,
/// <c>Monetization:MarketplaceProductCodes</c> (comma list); optionally <c>Aws:Region</c> and <c>Aws:ServiceUrl</c>.
/// Everything else about AWS follows the standard settings (<c>AWS_REGION</c>, <c>AWS_ENDPOINT_URL_*</c>, the default
/// credential chain).
/// </summary>
public static class SubscriptionEventsServices
{
    public const string LedgerTableNameKey = "Monetization:LedgerTableName";
    public const string UsagePlanIdKey = "Monetization:MarketplaceUsagePlanId";
    public const string ProductCodesKey = "Monetization:MarketplaceProductCodes";

    /// <summary>The container the Lambda runtime gets: configuration from the environment, JSON console logs.</summary>
    public static ServiceProvider BuildFromEnvironment()
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddJsonConsole(o => o.IncludeScopes = false));
        services.AddSubscriptionEvents(configuration);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    /// <exception cref="InvalidOperationException">A required setting is missing; the message names it.</exception>
    public static IServiceCollection AddSubscriptionEvents(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var tableName = configuration[LedgerTableNameKey];
        var usagePlanId = configuration[UsagePlanIdKey];
        var productCodes = MarketplaceOptions.SplitProductCodes(configuration[ProductCodesKey]);
        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(tableName))
        {
            missing.Add(LedgerTableNameKey + " (the DynamoDB ledger table)");
        }

        if (string.IsNullOrWhiteSpace(usagePlanId))
        {
            missing.Add(UsagePlanIdKey + " (the usage plan listed on AWS Marketplace)");
        }

        if (productCodes.Count == 0)
        {
            missing.Add(ProductCodesKey + " (comma-separated product codes we sell)");
        }

        if (missing.Count > 0)
        {
            // Fails the cold start, so a misconfigured deployment never acknowledges (and loses) a notification.
            throw new InvalidOperationException("SubscriptionEvents is misconfigured; set " + string.Join(", ", missing) + ".");
        }

        var region = configuration["Aws:Region"] is { Length: > 0 } r ? r : null;
        var serviceUrl = configuration["Aws:ServiceUrl"] is { Length: > 0 } url ? new Uri(url, UriKind.Absolute) : null;
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddAwsApiGateway(o =>
        {
            o.Region = region ?? o.Region;
            o.ServiceUrl = serviceUrl ?? o.ServiceUrl;
        });
        services.AddDynamoDbLedger(tableName!, serviceUrl, region);
        services.AddSingleton(new MarketplaceOptions { UsagePlanId = usagePlanId!, ProductCodes = productCodes });
        services.AddTransient<MarketplaceAccess>();
        services.AddTransient<ApplySubscriptionEvent>();
        services.AddTransient<HandleSubscriptionNotifications>();
        return services;
    }
}
