using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Aws.Secrets;
using Monetization.Aws.Usage;
using Monetization.Core;
using Monetization.Core.Accounts;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Marketplace;
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
    /// <summary>
    /// The function's host on Lambda: configuration from the environment, plus, when <c>Stripe:SecretArn</c> is set,
    /// the Secrets Manager secret's <c>SecretKey</c> as <c>Stripe:SecretKey</c> (the key never sits in the function's
    /// environment); JSON console logs with scopes.
    /// </summary>
    public static IHost BuildHost()
    {
        var builder = LambdaHost.CreateBuilder();
        builder.Configuration.AddSecretsManagerJsonWhenNamed(StripeSettings.Section);
        builder.Services.AddUsageReporter(builder.Configuration);
        builder.Services.AddSingleton<LambdaHandler>(sp => (payload, _, cancellationToken) => InvokeAsync(sp, payload, cancellationToken));
        return builder.Build();
    }

    /// <summary>
    /// One invocation: the hourly schedule's event (anything without <c>reconcile</c>) runs one report; the daily
    /// schedule's <c>{"reconcile":true}</c> reconciles the last closed day, and <c>{"reconcile":"YYYY-MM-DD"}</c> (an
    /// owner's <c>aws lambda invoke</c>) that day.
    /// </summary>
    public static async Task<Stream> InvokeAsync(IServiceProvider services, Stream payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(payload);
        using var buffered = new MemoryStream();
        await payload.CopyToAsync(buffered, cancellationToken);
        if (KeyMintEvent.Read(buffered.GetBuffer().AsSpan(0, (int)buffered.Length), out var unreadable) is { } mints)
        {
            // The key minting function: the same program, triggered by the key minting queue.
            if (unreadable.Count > 0)
            {
                services.GetRequiredService<ILogger<MintKeys>>().LogWarning("Dropped {Count} key minting messages that are not key requests", unreadable.Count);
            }

            var outcome = await services.GetRequiredService<MintKeys>().MintAsync(mints, cancellationToken);
            await Console.Out.WriteLineAsync(KeyMintEvent.EmbeddedMetrics(outcome, services.GetRequiredService<TimeProvider>().GetUtcNow()));
            return KeyMintEvent.Answer(outcome.Failed);
        }

        buffered.Position = 0;
        var reconcile = ReconciliationOutput.RequestedDay(buffered, services.GetRequiredService<ReconcileUsage>().LastClosedDay);
        return reconcile is { } day ? await ReconcileOnceAsync(services, day, cancellationToken) : await RunOnceAsync(services, cancellationToken);
    }

    /// <summary>
    /// One reconciliation: the table and the summary line and the drift metric to standard output; drift does not fail
    /// the invocation (the metric's alarm reports it).
    /// </summary>
    public static async Task<Stream> ReconcileOnceAsync(IServiceProvider services, DateOnly day, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(services);
        var report = await services.GetRequiredService<ReconcileUsage>().RunAsync(day, cancellationToken);
        var line = ReconciliationOutput.SummaryLine(report);
        await Console.Out.WriteLineAsync(ReconciliationOutput.Table(report));
        await Console.Out.WriteLineAsync(line);
        await Console.Out.WriteLineAsync(ReconciliationOutput.EmbeddedMetrics(report, services.GetRequiredService<TimeProvider>().GetUtcNow()));
        return new MemoryStream(System.Text.Encoding.UTF8.GetBytes(line), writable: false);
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

    /// <summary>
    /// Validates the settings of a container built in process (tests, the sandbox, the benchmark) as the host's start
    /// validates them on Lambda, so a misconfiguration fails before any work starts.
    /// </summary>
    public static void ValidateNow(IServiceProvider provider)
    {
        ArgumentNullException.ThrowIfNull(provider);
        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    /// <summary>The reporter's services, every section bound once and checked when the host starts.</summary>
    public static IServiceCollection AddUsageReporter(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(configuration);
        services.AddOptions<UsageReporterOptions>().BindConfiguration(UsageReporterOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageReporterOptions>, UsageReporterOptionsValidator>());
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.AddAwsSettings();
        services.AddAwsApiGateway();
        services.AddDynamoDbLedger(sp => sp.GetRequiredService<IOptions<UsageReporterOptions>>().Value.LedgerTableName);
        services.AddUsageMetering();

        // The Stripe plan's id sits with the other usage settings (Usage:StripeUsagePlanId).
        services.AddOptions<StripeChannelOptions>().BindConfiguration(UsageServiceCollectionExtensions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StripeChannelOptions>>(new StripeChannelOptionsValidator(UsageServiceCollectionExtensions.Section)));
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<StripeChannelOptions>>().Value);
        services.AddStripeSettings();
        services.AddStripeBilling(_ => { });
        services.AddTransient<ReportStripeUsage>();
        services.AddTransient<ReportUsage>();

        // The free plan's quota e-mails go out by SES, as the Portal's sign-in links do (the same Email settings).
        services.AddAwsSes();
        services.AddTransient<QuotaAlerts>();
        services.AddTransient<IdleFreeKeys>();
        services.AddTransient<SpendCaps>();
        services.AddTransient<ReconcileUsage>();

        // The key minting function runs this program too, on the key minting queue's events.
        services.AddOptions<KeyMintingOptions>()
            .BindConfiguration(KeyMintingOptions.Section)
            .Validate(o => o.KeyReserve is >= 0 and < ApiKeyAccess.AccountKeyLimit, KeyMintingOptions.KeyReserveRange)
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<KeyMintingOptions>>().Value);
        services.AddSingleton<KeyCeiling>();
        services.AddTransient<MintKeys>();
        services.TryAddEnumerable(ServiceDescriptor.Transient<IFirstKeyChannel, StripeFirstKeys>());

        // Marketplace buyers' first keys, in the plan the usage settings name (empty when nothing is sold there, and
        // then no buyer awaits a key).
        services.TryAddEnumerable(ServiceDescriptor.Transient<IFirstKeyChannel, MarketplaceFirstKeys>());
        services.AddTransient<MarketplaceAccess>();
        services.TryAddSingleton(sp =>
        {
            var usage = sp.GetRequiredService<UsageReportingOptions>();
            return new MarketplaceOptions
            {
                UsagePlanId = usage.MarketplaceUsagePlanId ?? string.Empty,
                ProductCodes = usage.MarketplaceProductCode is { } product ? [product] : [],
            };
        });
        return services;
    }
}

/// <summary>The reporter's own settings, bound from the <c>Monetization</c> section (environment: <c>Monetization__*</c>).</summary>
public sealed class UsageReporterOptions
{
    public const string Section = "Monetization";

    [Required(ErrorMessage = "Monetization:LedgerTableName is required: the DynamoDB ledger table.")]
    public string LedgerTableName { get; set; } = string.Empty;
}

/// <summary>Checks the options without reflection (generated from the attributes).</summary>
[OptionsValidator]
public sealed partial class UsageReporterOptionsValidator : IValidateOptions<UsageReporterOptions>;

/// <summary>Fails the invocation: some usage was claimed but not accepted; the next run sends it again.</summary>
public sealed class UsageReportFailedException(long failures)
    : Exception($"{failures} usage reports were not accepted; they stay claimed and the next run sends them again.");
