using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Aws.Secrets;
using Monetization.Aws.Usage;
using Monetization.Core;
using Monetization.Core.Usage;
using Monetization.Lambda;
using Monetization.Stripe;

namespace Monetization.UsageReporter;

/// <summary>
/// The reporter's wiring from configuration. Required: <c>Monetization:LedgerTableName</c>,
/// <c>Usage:StripeUsagePlanId</c>, <c>Stripe:SecretKey</c>, <c>Stripe:MeterEventName</c>, <c>Stripe:PriceId</c> (usage
/// after a cancellation is invoiced at its unit price); with Marketplace metering also <c>Usage:MarketplaceUsagePlanId</c>
/// and <c>Usage:MarketplaceProductCode</c>. Optional: <c>Usage:MarketplaceDimension</c>, <c>Usage:SettleWindow</c>,
/// <c>Usage:LedgerParallelism</c>, <c>Usage:KeysPerChunk</c>, <c>Stripe:ApiBase</c>, <c>Stripe:MeterEventsBase</c>, <c>Aws:Region</c>,
/// <c>Aws:ServiceUrl</c>, <c>Aws:ApiGatewayServiceUrl</c>, <c>Aws:MarketplaceMeteringServiceUrl</c>; in AWS
/// <c>Stripe:SecretArn</c> instead of <c>Stripe:SecretKey</c> (see <see cref="BuildFromEnvironment"/>). A missing or wrong
/// setting fails the start with the setting's name.
/// </summary>
public static class UsageReporterServices
{
    public const string LedgerTableNameKey = "Monetization:LedgerTableName";

    /// <summary>
    /// The container the Lambda host gets: configuration from the environment, plus, when <c>Stripe:SecretArn</c> is
    /// set, the Secrets Manager secret's <c>SecretKey</c> as <c>Stripe:SecretKey</c> (the key never sits in the
    /// function's environment); JSON console logs.
    /// </summary>
    public static ServiceProvider BuildFromEnvironment()
    {
        var builder = new ConfigurationBuilder().AddEnvironmentVariables();
        var environment = builder.Build();
        if (environment["Stripe:SecretArn"] is { Length: > 0 } secretArn)
        {
            var aws = AwsSettings.From(environment);
            builder.AddSecretsManagerJson(secretArn, "Stripe", new AwsClientOptions { Region = aws.Region, ServiceUrl = aws.ServiceUrl });
        }

        var configuration = builder.Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Information).AddJsonConsole(o => o.IncludeScopes = false));
        services.AddUsageReporter(configuration);
        services.AddSingleton<LambdaHandler>(sp => (_, _, cancellationToken) => RunOnceAsync(sp, cancellationToken));
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
        ValidateNow(provider);
        return provider;
    }

    /// <summary>
    /// One invocation: one report. The summary line and the embedded metrics go to standard output (Lambda's log, where
    /// CloudWatch turns the metrics document into metrics); a run with failures fails the invocation.
    /// </summary>
    public static async Task<Stream> RunOnceAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var summary = await services.GetRequiredService<ReportUsage>().RunAsync(cancellationToken);
        var line = UsageReportOutput.SummaryLine(summary);
        await Console.Out.WriteLineAsync(line);
        await Console.Out.WriteLineAsync(UsageReportOutput.EmbeddedMetrics(summary, services.GetRequiredService<TimeProvider>().GetUtcNow()));
        return summary.Failures == 0
            ? new MemoryStream(System.Text.Encoding.UTF8.GetBytes(line), writable: false)
            : throw new UsageReportFailedException(summary.Failures);
    }

    /// <summary>Resolves the validated options, so a misconfigured deployment fails before any work starts.</summary>
    public static void ValidateNow(IServiceProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        _ = provider.GetRequiredService<IOptions<UsageReportingOptions>>().Value;
        _ = provider.GetRequiredService<IOptions<StripeOptions>>().Value;
    }

    public static IServiceCollection AddUsageReporter(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var tableName = configuration[LedgerTableNameKey];
        if (string.IsNullOrWhiteSpace(tableName))
        {
            throw new InvalidOperationException($"UsageReporter is misconfigured; set {LedgerTableNameKey} (the DynamoDB ledger table).");
        }

        var aws = AwsSettings.From(configuration);
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddAwsApiGateway(o => aws.ApplyTo(AwsService.ApiGateway, o));
        services.AddDynamoDbLedger(tableName, aws.ServiceUrl, aws.Region);
        services.AddUsageMetering(configuration, aws);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageReportingOptions>, StripeUsagePlanValidator>());
        var stripe = configuration.GetSection("Stripe");
        services.AddStripeBilling(o =>
        {
            o.SecretKey = stripe["SecretKey"] is { Length: > 0 } key ? new Secret(key) : null;
            o.MeterEventName = stripe["MeterEventName"] ?? string.Empty;
            o.PriceId = stripe["PriceId"] ?? string.Empty;
            if (stripe["ApiBase"] is { Length: > 0 } apiBase)
            {
                o.ApiBase = new Uri(apiBase, UriKind.Absolute);
            }

            if (stripe["MeterEventsBase"] is { Length: > 0 } eventsBase)
            {
                o.MeterEventsBase = new Uri(eventsBase, UriKind.Absolute);
            }
        });
        services.AddTransient<ReportStripeUsage>();
        services.AddTransient<ReportUsage>();
        return services;
    }
}

/// <summary>The reporter bills the Stripe plan on every run.</summary>
internal sealed class StripeUsagePlanValidator : IValidateOptions<UsageReportingOptions>
{
    public ValidateOptionsResult Validate(string? name, UsageReportingOptions options) =>
        string.IsNullOrWhiteSpace(options.StripeUsagePlanId)
            ? ValidateOptionsResult.Fail("Usage:StripeUsagePlanId is required: the usage plan of Stripe subscribers' keys.")
            : ValidateOptionsResult.Success;
}

/// <summary>Fails the invocation: some usage was claimed but not accepted; the next run sends it again.</summary>
public sealed class UsageReportFailedException(long failures)
    : Exception($"{failures} usage reports were not accepted; they stay claimed and the next run sends them again.");
