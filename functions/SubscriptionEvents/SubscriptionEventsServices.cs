using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
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
    /// <summary>The function's host on Lambda: configuration from the environment, JSON console logs with scopes.</summary>
    public static IHost BuildHost()
    {
        var builder = LambdaHost.CreateBuilder();
        builder.Services.AddSubscriptionEvents(builder.Configuration);
        return builder.Build();
    }

    /// <summary>
    /// The same container in process (tests, the offline sandbox), with its settings validated as the host's start
    /// validates them on Lambda.
    /// </summary>
    /// <exception cref="OptionsValidationException">A setting is missing or malformed; the message names it.</exception>
    /// <exception cref="AggregateException">Settings of more than one section are missing: one validation failure each.</exception>
    public static ServiceProvider Build(IConfiguration configuration, Action<ILoggingBuilder> logging)
    {
        var provider = new ServiceCollection()
            .AddLogging(logging)
            .AddSubscriptionEvents(configuration)
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        try
        {
            provider.GetRequiredService<IStartupValidator>().Validate();
            return provider;
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }

    /// <summary>The function's services, every section bound once and checked when the host starts.</summary>
    public static IServiceCollection AddSubscriptionEvents(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(configuration);
        services.AddOptions<SubscriptionEventsOptions>().BindConfiguration(SubscriptionEventsOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SubscriptionEventsOptions>, SubscriptionEventsOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SubscriptionEventsOptions>, ProductCodesValidator>());

        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddAwsSettings();
        services.AddAwsApiGateway();

        // A buyer's first key is asked of the key minting queue, never made on an event.
        services.AddAwsKeyMintQueue();
        services.AddDynamoDbLedger(sp => Options(sp).LedgerTableName);
        services.AddUsageMetering();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageReportingOptions>, MarketplaceUsagePlanValidator>());
        services.AddSingleton(sp => Options(sp).Marketplace());
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
