using Monetization.Core.Billing;

namespace Monetization.Core.Usage;

/// <summary>
/// Sends usage to the billing meter. A batch has at most <see cref="MaxBatchSize"/> events and names each customer at
/// most once (the provider allows one event in flight per customer and meter). Each event's identifier is
/// deduplicated by the provider, so sending a batch again after a lost answer bills nothing twice.
/// </summary>
public interface IUsageMeter
{
    int MaxBatchSize { get; }

    /// <summary>Returns when the provider accepted every event of the batch; a failure is an exception.</summary>
    Task ReportAsync(IReadOnlyList<MeterUsage> batch, CancellationToken cancellationToken);
}
