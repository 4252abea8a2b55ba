using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Monetization.Core.ApiKeys;
using Monetization.Core.Usage;

namespace Monetization.Aws.Usage;

/// <summary>
/// The <c>Usage</c> section and Marketplace metering, wired one way for every host that meters usage: the usage
/// reporter (both channels, hourly) and SubscriptionEvents (a buyer's final usage when their subscription ends).
/// </summary>
public static class UsageServiceCollectionExtensions
{
    /// <summary>The section the usage settings are read from (environment: <c>Usage__*</c>).</summary>
    public const string Section = "Usage";

    /// <summary>
    /// Binds <see cref="UsageReportingOptions"/> from <c>Usage</c> once (checked at start; messages name the setting,
    /// never its value) and registers <see cref="MeterMarketplaceUsage"/> with its Metering client, on the bound
    /// <see cref="AwsSettings"/>. The host registers <see cref="Core.ApiKeys.IApiKeys"/> and the ledger, and adds
    /// validators for what only it requires.
    /// </summary>
    public static IServiceCollection AddUsageMetering(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<UsageReportingOptions>()
            .BindConfiguration(Section)
            .PostConfigure(o =>
            {
                // The template passes an empty value when nothing is sold on Marketplace.
                o.MarketplaceUsagePlanId = string.IsNullOrWhiteSpace(o.MarketplaceUsagePlanId) ? null : o.MarketplaceUsagePlanId;
                o.MarketplaceProductCode = string.IsNullOrWhiteSpace(o.MarketplaceProductCode) ? null : o.MarketplaceProductCode;
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<UsageReportingOptions>, UsageReportingOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddAwsSettings();
        services.AddAwsMarketplaceMetering();
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<UsageReportingOptions>>().Value);
        services.TryAddTransient<MeterMarketplaceUsage>();
        return services;
    }
}

/// <summary>What every host metering usage requires of <c>Usage</c>.</summary>
internal sealed class UsageReportingOptionsValidator : IValidateOptions<UsageReportingOptions>
{
    private const int MaxEndedKeysPerRun = 1000;

    public ValidateOptionsResult Validate(string? name, UsageReportingOptions options)
    {
        var failures = new List<string>();
        if (options.MarketplaceUsagePlanId is not null && string.IsNullOrWhiteSpace(options.MarketplaceProductCode))
        {
            failures.Add("Usage:MarketplaceProductCode is required with Usage:MarketplaceUsagePlanId.");
        }

        if (string.IsNullOrWhiteSpace(options.MarketplaceDimension))
        {
            failures.Add("Usage:MarketplaceDimension must not be empty.");
        }

        if (options.LedgerParallelism is < 1 or > 256)
        {
            failures.Add("Usage:LedgerParallelism must be between 1 and 256.");
        }

        if (options.KeysPerChunk is < 100 or > 100_000)
        {
            failures.Add("Usage:KeysPerChunk must be between 100 and 100000.");
        }

        if (options.SettleWindow < TimeSpan.Zero || options.SettleWindow > TimeSpan.FromDays(1))
        {
            failures.Add("Usage:SettleWindow must be between 00:00:00 and 1.00:00:00 (GetUsage's lag plus the time a disabled key takes to stop working).");
        }

        if (options.EndedKeyRetention < TimeSpan.Zero || options.EndedKeyRetention > TimeSpan.FromDays(365))
        {
            failures.Add("Usage:EndedKeyRetention must be between 00:00:00 and 365.00:00:00.");
        }

        if (options.EndedKeysPerRun is < 1 or > MaxEndedKeysPerRun)
        {
            failures.Add($"Usage:EndedKeysPerRun must be between 1 and {MaxEndedKeysPerRun} (at most 5 minutes of deletions at DeleteApiKey's 5 a second per account, shared).");
        }

        if (options.FreeKeyIdleDays is < 0 or > 3650)
        {
            failures.Add("Usage:FreeKeyIdleDays must be between 0 (keep unused free keys) and 3650.");
        }

        if (options.FreeKeyNoticeDays is < 1 or > 365)
        {
            failures.Add("Usage:FreeKeyNoticeDays must be between 1 and 365: the holder of an unused free key is always told before it goes.");
        }

        if (options.UnprocessedRetries is < 0 or > 10)
        {
            failures.Add("Usage:UnprocessedRetries must be between 0 and 10.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
