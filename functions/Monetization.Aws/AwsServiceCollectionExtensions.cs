using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Email;
using Monetization.Aws.Http;
using Monetization.Aws.Ledger;
using Monetization.Aws.Marketplace;
using Monetization.Aws.Queues;
using Monetization.Core.ApiKeys;
using Monetization.Core.Mail;
using Monetization.Core.Marketplace;
using Monetization.Http;

namespace Monetization.Aws;

public static class AwsServiceCollectionExtensions
{
    public const string ApiGatewayOptionsName = "ApiGateway";
    public const string MarketplaceMeteringOptionsName = "MarketplaceMetering";
    public const string SesOptionsName = "Ses";

    /// <summary>A typed <see cref="ApiGatewayClient"/> and <see cref="IApiKeys"/>, signed and retried.</summary>
    public static IHttpClientBuilder AddAwsApiGateway(this IServiceCollection services, Action<AwsClientOptions>? configure = null)
    {
        // Every flow reaches keys through the one access component, so it comes with the port.
        services.TryAddTransient<ApiKeyAccess>();
        services.AddApiGatewayBudget();
        return services.AddAwsClient<ApiGatewayClient>(
                AwsService.ApiGateway, ApiGatewayOptionsName, configure, sp => new ApiGatewayBudgetHandler(sp.GetRequiredService<ApiGatewayBudget>()))
            .AddTypedService<IApiKeys, ApiGatewayApiKeys>();
    }

    /// <summary>
    /// The account's budget of API Gateway control-plane calls (<see cref="ApiGatewayBudget"/>), kept in the ledger's
    /// table (the host registers the ledger), with the <c>ApiGatewayBudget</c> section bound once and checked at start.
    /// </summary>
    private static void AddApiGatewayBudget(this IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(ApiGatewayBudget)))
        {
            return;
        }

        services.AddOptions<ApiGatewayBudgetOptions>()
            .BindConfiguration(ApiGatewayBudgetOptions.Section)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApiGatewayBudgetOptions>, ApiGatewayBudgetOptionsValidator>();
        services.AddSingleton(sp => new ApiGatewayBudget(
            sp.GetRequiredService<Amazon.DynamoDBv2.IAmazonDynamoDB>(),
            sp.GetRequiredService<LedgerTableName>().Value,
            sp.GetRequiredService<IOptions<ApiGatewayBudgetOptions>>().Value,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ApiGatewayBudget>>()));
    }

    /// <summary>A typed <see cref="MarketplaceMeteringClient"/> and <see cref="IMarketplaceMetering"/>, signed and retried.</summary>
    public static IHttpClientBuilder AddAwsMarketplaceMetering(this IServiceCollection services, Action<AwsClientOptions>? configure = null) =>
        services.AddAwsClient<MarketplaceMeteringClient>(AwsService.MarketplaceMetering, MarketplaceMeteringOptionsName, configure)
            .AddTypedService<IMarketplaceMetering, AwsMarketplaceMetering>();

    /// <summary>
    /// <see cref="IEmailSender"/> on Amazon SES (a typed <see cref="SesClient"/>, signed and retried), sending as the
    /// <c>Email</c> section says (<see cref="EmailSettings"/>, bound once and checked when the host starts).
    /// </summary>
    public static IHttpClientBuilder AddAwsSes(this IServiceCollection services, Action<AwsClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!services.Any(d => d.ServiceType == typeof(IValidateOptions<EmailSettings>)))
        {
            services.AddOptions<EmailSettings>().BindConfiguration(EmailSettings.Section).ValidateOnStart();
            services.AddSingleton<IValidateOptions<EmailSettings>, EmailSettingsValidator>();
        }

        var builder = services.AddAwsClient<SesClient>(AwsService.Ses, SesOptionsName, configure);
        services.AddTransient<IEmailSender>(sp => new SesEmailSender(
            sp.GetRequiredService<SesClient>(),
            sp.GetRequiredService<IOptions<EmailSettings>>().Value,
            sp.GetRequiredKeyedService<AwsConnection>(SesOptionsName).Region));
        return builder;
    }

    public const string SqsOptionsName = "Sqs";

    /// <summary>
    /// <see cref="IKeyMintQueue"/> on SQS (a typed <see cref="SqsClient"/>, signed and retried), at the queue the
    /// <c>KeyMinting</c> section names (bound once, checked when the host starts), and <see cref="RequestKey"/> over it.
    /// </summary>
    public static IHttpClientBuilder AddAwsKeyMintQueue(this IServiceCollection services, Action<AwsClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<KeyMintingSettings>()
            .BindConfiguration(KeyMintingSettings.Section)
            .Validate(s => s.QueueUrl is { IsAbsoluteUri: true }, KeyMintingSettings.QueueUrlRequired)
            .ValidateOnStart();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<KeyMintingSettings>>().Value);
        services.TryAddTransient<IKeyMintQueue, SqsKeyMintQueue>();
        services.TryAddTransient<RequestKey>();
        return services.AddAwsClient<SqsClient>(AwsService.Sqs, SqsOptionsName, configure);
    }

    /// <param name="paced">A handler every attempt passes after the retry and before it is signed, if the service has one.</param>
    private static IHttpClientBuilder AddAwsClient<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TClient>(
        this IServiceCollection services, AwsService service, string name, Action<AwsClientOptions>? configure, Func<IServiceProvider, DelegatingHandler>? paced = null)
        where TClient : class
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AwsClientOptions>, AwsClientOptionsValidator>());
        // The bound Aws section first (an empty one when the host binds none), then what the caller sets.
        services.AddOptions<AwsClientOptions>(name)
            .Configure<IOptions<AwsSettings>>((o, aws) => ApplySettings(aws, service, o))
            .Configure(configure ?? (_ => { }))
            .ValidateOnStart();

        // Resolved once per container: region, endpoint and credential source do not change while the process runs.
        services.AddKeyedSingleton(name, (sp, _) => AwsConnection.Resolve(service, sp.GetRequiredService<IOptionsMonitor<AwsClientOptions>>().Get(name)));

        var client = services.AddHttpClient<TClient>(name)
            .ConfigureHttpClient((sp, http) =>
            {
                var options = sp.GetRequiredService<IOptionsMonitor<AwsClientOptions>>().Get(name);
                http.BaseAddress = sp.GetRequiredKeyedService<AwsConnection>(name).Endpoint;
                http.Timeout = options.Timeout;
            })
            .AddHttpMessageHandler(sp => new AwsRetryHandler(
                sp.GetRequiredService<IOptionsMonitor<AwsClientOptions>>().Get(name), sp.GetRequiredService<TimeProvider>()));
        if (paced is not null)
        {
            client.AddHttpMessageHandler(paced);
        }

        return client
            .AddHttpMessageHandler(sp =>
            {
                var connection = sp.GetRequiredKeyedService<AwsConnection>(name);
                return new AwsSigningHandler(connection.Credentials, connection.Region, service.SigningName, sp.GetRequiredService<TimeProvider>());
            })
            .LogCallsAs(service.SigningName);
    }

    private static void ApplySettings(IOptions<AwsSettings> aws, AwsService service, AwsClientOptions options)
    {
        try
        {
            aws.Value.ApplyTo(service, options);
        }
        catch (OptionsValidationException)
        {
            // A malformed Aws setting is reported once, by the settings' own check, not again by every client.
        }
    }

    private static IHttpClientBuilder AddTypedService<TService, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TImplementation>(this IHttpClientBuilder builder)
        where TService : class
        where TImplementation : class, TService
    {
        builder.Services.AddTransient<TService, TImplementation>();
        return builder;
    }
}
