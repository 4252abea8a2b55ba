using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;

namespace Monetization.Core.Usage;

/// <summary>
/// One usage report: the Stripe plan's usage to Stripe meters, then, when something is sold on Marketplace, the
/// Marketplace plan's usage to BatchMeterUsage, then the free plan's quota e-mails (<see cref="QuotaAlerts"/>) and its
/// unused keys (<see cref="IdleFreeKeys"/>). For each UTC day still open (yesterday and today) and each key with
/// usage, the units above the ledger's watermark are first claimed in the ledger, then sent, and the watermark moves
/// to the claim only after the provider accepted. A claim a crashed run left behind is sent again unchanged before
/// anything new, and the provider deduplicates it (Stripe by identifier, Marketplace by customer, dimension and hour),
/// so a crash at any point, a rerun or two runs at once bill every unit exactly once. Each run also counts the account's
/// API keys, which API Gateway caps at 10,000 per region for every API of the account.
/// </summary>
public sealed partial class ReportUsage(
    ReportStripeUsage stripe,
    MeterMarketplaceUsage marketplace,
    QuotaAlerts quotas,
    IdleFreeKeys idleFreeKeys,
    ApiKeyAccess access,
    TimeProvider time,
    ILogger<ReportUsage> logger)
{
    public async Task<UsageReportSummary> RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var stripeSummary = await stripe.RunAsync(now, cancellationToken);
        var marketplaceSummary = marketplace.Enabled ? await marketplace.RunAsync(now, cancellationToken) : null;
        var freeMonth = quotas.Enabled || idleFreeKeys.Enabled ? await quotas.ReadMonthAsync(now, cancellationToken) : null;
        var quotaEmails = await quotas.RunAsync(freeMonth, now, cancellationToken);
        var idle = await idleFreeKeys.RunAsync(freeMonth, now, cancellationToken);
        var summary = new UsageReportSummary(stripeSummary, marketplaceSummary)
        {
            ApiKeysInAccount = await CountKeysAsync(cancellationToken),
            QuotaEmailsSent = quotaEmails,
            UnusedFreeKeysNoticed = idle.Noticed,
            UnusedFreeKeysEnded = idle.Ended,
        };
        LogSummary(logger, summary.Stripe.UnitsReported, summary.Stripe.EventsSent, summary.Stripe.KeysSkipped, summary.Marketplace?.UnitsReported ?? 0, summary.Marketplace?.RecordsSent ?? 0, summary.Failures);
        return summary;
    }

    /// <summary>The account's key count, or null when API Gateway did not answer (billing does not wait for it).</summary>
    private async Task<int?> CountKeysAsync(CancellationToken cancellationToken)
    {
        try
        {
            var keys = await access.CountAccountKeysAsync(cancellationToken);
            if (keys >= ApiKeyAccess.AccountKeyLimit * 8 / 10)
            {
                LogKeysNearLimit(logger, keys, ApiKeyAccess.AccountKeyLimit);
            }

            return keys;
        }
        catch (DependencyUnavailableException e)
        {
            LogKeysNotCounted(logger, e);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The account holds {Keys} API keys in this region, of the {Limit} API Gateway allows")]
    private static partial void LogKeysNearLimit(ILogger logger, int keys, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The account's API keys could not be counted this run")]
    private static partial void LogKeysNotCounted(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage reported: Stripe {StripeUnits} units in {StripeEvents} events, {StripeSkipped} keys skipped; Marketplace {MarketplaceUnits} units in {MarketplaceRecords} records; {Failures} failures")]
    private static partial void LogSummary(ILogger logger, long stripeUnits, int stripeEvents, int stripeSkipped, long marketplaceUnits, int marketplaceRecords, int failures);
}
