using Microsoft.Extensions.Logging;

namespace Monetization.Core.Usage;

/// <summary>
/// One usage report: the Stripe plan's usage to Stripe meters, then, when something is sold on Marketplace, the
/// Marketplace plan's usage to BatchMeterUsage. For each UTC day still open (yesterday and today) and each key with
/// usage, the units above the ledger's watermark are first claimed in the ledger, then sent, and the watermark moves
/// to the claim only after the provider accepted. A claim a crashed run left behind is sent again unchanged before
/// anything new, and the provider deduplicates it (Stripe by identifier, Marketplace by customer, dimension and hour),
/// so a crash at any point, a rerun or two runs at once bill every unit exactly once.
/// </summary>
public sealed partial class ReportUsage(
    ReportStripeUsage stripe,
    MeterMarketplaceUsage marketplace,
    TimeProvider time,
    ILogger<ReportUsage> logger)
{
    public async Task<UsageReportSummary> RunAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var summary = new UsageReportSummary(
            await stripe.RunAsync(now, cancellationToken),
            marketplace.Enabled ? await marketplace.RunAsync(now, cancellationToken) : null);
        LogSummary(logger, summary.Stripe.UnitsReported, summary.Stripe.EventsSent, summary.Stripe.KeysSkipped, summary.Marketplace?.UnitsReported ?? 0, summary.Marketplace?.RecordsSent ?? 0, summary.Failures);
        return summary;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage reported: Stripe {StripeUnits} units in {StripeEvents} events, {StripeSkipped} keys skipped; Marketplace {MarketplaceUnits} units in {MarketplaceRecords} records; {Failures} failures")]
    private static partial void LogSummary(ILogger logger, long stripeUnits, int stripeEvents, int stripeSkipped, long marketplaceUnits, int marketplaceRecords, int failures);
}
