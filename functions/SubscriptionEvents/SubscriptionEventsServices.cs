using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Aws.Usage;
using Monetization.Core.Marketplace;
using Monetization.Core.Marketplace.Notifications;
using Monetization.Core.Usage;
using Monetization.Lambda;

namespace Monetization.SubscriptionEvents;

/// <summary>
/// The function's wiring: <see cref="SubscriptionEventsOptions"/> from the <c>Monetization</c> section,
/// <see cref="UsageReportingOptions"/> from <c>Usage</c> (a buyer's final usage is metered when their subscription
/// ends) and <see cref="AwsSettings"/> from <c>Aws</c>, all validated before the first invocation. Everything else about AWS
/// follows the standard settings (<c>AWS_REGION</c>, <c>AWS_ENDPOINT_URL_*</c>, the default credential chain).
/// </summary>
public static class SubscriptionEventsServices
{
    /// <summary>The container the Lambda runtime gets: configuration from the environment, JSON console logs.</summary>
    public static ServiceProvider BuildFromEnvironment() =>
        Build(new ConfigurationBuilder().AddEnvironmentVariables().Build(), logging => logging
            .SetMinimumLevel(LogLevel.Information)
            .AddJsonConsole(o => o.IncludeScopes = false));

    /// <summary>Builds the container and validates its settings, as a cold start does.</summary>
    /// <exception cref="OptionsValidationException">A required setting is missing; the message names it.</exception>
    /// <exception cref="AggregateException">Settings of more than one section are missing: one validation failure each.</exception>
    /// <exception cref="InvalidOperationException">An <c>Aws</c> setting is malformed; the message names it.</exception>
    public static ServiceProvider Build(IConfiguration configuration, Action<ILoggingBuilder> logging)
    {
        var provider = new ServiceCollection()
            .AddLogging(logging)
            .AddSubscriptionEvents(configuration)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            // Fails the cold start, so a misconfigured deployment never acknowledges (and loses) a notification.
            provider.GetRequiredService<IStartupValidator>().Validate();
            return provider;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <exception cref="InvalidOperationException">An <c>Aws</c> setting is malformed; the message names it.</exception>
    public static IServiceCollection AddSubscriptionEvents(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SubscriptionEventsOptions>().Bind(configuration.GetSection(SubscriptionEventsOptions.Section)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SubscriptionEventsOptions>, SubscriptionEventsOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SubscriptionEventsOptions>, ProductCodesValidator>());
        var aws = AwsSettings.From(configuration);

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddAwsApiGateway(o => aws.ApplyTo(AwsService.ApiGateway, o));
        services.AddDynamoDbLedger(sp => Options(sp).LedgerTableName, aws.ServiceUrl, aws.Region);
        services.AddUsageMetering(configuration, aws);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageReportingOptions>, MarketplaceUsagePlanValidator>());
        services.AddSingleton(sp => new MarketplaceOptions { UsagePlanId = Options(sp).MarketplaceUsagePlanId, ProductCodes = Options(sp).ProductCodes });
        services.AddTransient<MarketplaceAccess>();
        services.AddTransient<MarketplaceIdentity>();
        services.AddTransient<ApplySubscriptionEvent>();
        services.AddTransient<HandleSubscriptionNotifications>();
        services.AddSingleton<Function>();
        services.AddSingleton<LambdaHandler>(sp =>
        {
            var function = sp.GetRequiredService<Function>();
            return (payload, _, cancellationToken) => function.ProcessAsync(payload, cancellationToken);
        });
        return services;
    }

    private static SubscriptionEventsOptions Options(IServiceProvider services) =>
        services.GetRequiredService<IOptions<SubscriptionEventsOptions>>().Value;
}
