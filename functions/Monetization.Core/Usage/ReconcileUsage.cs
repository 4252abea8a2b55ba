using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Core.Usage;

/// <summary>What one subscriber's keys (or one key nobody holds) came to on the day, and whether the books agree.</summary>
/// <param name="SubscriberId">Null for a key with usage that no subscriber holds.</param>
/// <param name="Counted">What API Gateway counted (GetUsage); null when none of the keys is in the plan any more.</param>
/// <param name="Recorded">What the ledger's watermarks say was billed.</param>
/// <param name="InFlight">Units of claims still in flight (claimed, never confirmed).</param>
/// <param name="Billed">What Stripe holds for the customer's day; null on Marketplace, which has no read-back.</param>
/// <param name="Drift">Units the books disagree on that no known cause explains.</param>
/// <param name="Finding">What the numbers mean, in a few words.</param>
public sealed record ReconciledRow(
    string? SubscriberId, Channel Channel, IReadOnlyList<string> KeyIds, long? Counted, long Recorded, long InFlight, long? Billed, long Drift, string Finding);

/// <summary>One closed UTC day, reconciled.</summary>
/// <param name="Drift">Units, over every row, that no known cause explains.</param>
public sealed record ReconciliationReport(DateOnly Day, IReadOnlyList<ReconciledRow> Rows, long Drift);

/// <summary>
/// The books of one closed UTC day, compared per subscriber: what API Gateway counted for their keys (GetUsage),
/// what the ledger recorded as billed (the watermarks the usage reports commit), and, for Stripe, what Stripe holds
/// (meter event summaries of the customer's day plus usage items naming the day). A day is closed once no usage
/// report touches it any more: the reports bill yesterday and today, so the day before yesterday and older.
/// Keys are those GetUsage shows for the day and every key of a subscriber whose access ended within the retention
/// (the ledger's settling index), since a key that left its plan is no longer shown by GetUsage.
/// </summary>
/// <remarks>
/// Known causes are explained, not counted as drift: a key nobody holds is not billed by design; a key that left its
/// plan has no count to compare; a Marketplace buyer API Gateway meters itself has nothing recorded; a claim left in
/// flight on a day now closed was either accepted (billed = recorded + in flight) or is owed. Marketplace has no API
/// that reads metered records back, so that channel compares counted with recorded only.
/// </remarks>
public sealed partial class ReconcileUsage(
    IApiKeys apiKeys,
    IUsageLedger ledger,
    IBilling billing,
    UsageReportingOptions options,
    StripeChannelOptions stripeChannel,
    TimeProvider time,
    ILogger<ReconcileUsage> logger)
{
    private const int StripeReadsInFlight = 8;

    /// <summary>The newest day no report touches any more: the day before yesterday.</summary>
    public DateOnly LastClosedDay => DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-2);

    public async Task<ReconciliationReport> RunAsync(DateOnly day, CancellationToken cancellationToken)
    {
        if (day > LastClosedDay)
        {
            throw new ArgumentOutOfRangeException(nameof(day), day, $"Only a closed day can be reconciled: {LastClosedDay:yyyy-MM-dd} or earlier.");
        }

        var rows = new List<ReconciledRow>();
        rows.AddRange(await PlanAsync(stripeChannel.StripeUsagePlanId, Channel.Stripe, day, cancellationToken));
        if (options.MarketplaceUsagePlanId is { } marketplacePlan)
        {
            rows.AddRange(await PlanAsync(marketplacePlan, Channel.Marketplace, day, cancellationToken));
        }

        var report = new ReconciliationReport(day, rows, rows.Sum(r => r.Drift));
        LogReconciled(logger, day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), rows.Count, report.Drift);
        return report;
    }

    private async Task<IReadOnlyList<ReconciledRow>> PlanAsync(string planId, Channel channel, DateOnly day, CancellationToken cancellationToken)
    {
        var counted = (await apiKeys.GetUsageAsync(planId, day, day, keyId: null, cancellationToken))
            .ToDictionary(k => k.Key, k => k.Value.Where(d => d.Day == day).Sum(d => d.Used), StringComparer.Ordinal);
        var holders = new Dictionary<string, Subscriber>(StringComparer.Ordinal);
        foreach (var holder in (await ledger.FindSubscribersByApiKeyAsync([.. counted.Keys], cancellationToken)).Values
                     .Concat(await ledger.FindSettlingAsync(planId, time.GetUtcNow() + options.EndedKeyRetention + TimeSpan.FromDays(1), cancellationToken)))
        {
            holders.TryAdd(holder.Id, holder);
        }

        var keysOf = holders.Values.ToDictionary(
            h => h.Id,
            h => (IReadOnlyList<string>)[.. new[] { h.ApiKeyId }.OfType<string>().Concat(h.RetiredKeys.Select(k => k.Id)).Concat(h.DeletedKeys.Select(k => k.Id)).Distinct(StringComparer.Ordinal)],
            StringComparer.Ordinal);
        var held = keysOf.Values.SelectMany(k => k).ToHashSet(StringComparer.Ordinal);
        var unheld = counted.Keys.Where(k => !held.Contains(k)).ToList();
        var watermarks = (await ledger.GetWatermarksAsync([.. held.Concat(unheld).Select(k => new UsageDay(k, day))], cancellationToken))
            .ToDictionary(w => w.Day.ApiKeyId, StringComparer.Ordinal);

        // Stripe is read for each customer with usage, a few at once (Stripe limits requests per second per account).
        var judged = new System.Collections.Concurrent.ConcurrentBag<ReconciledRow>();
        await Parallel.ForEachAsync(
            holders.Values,
            new ParallelOptions { MaxDegreeOfParallelism = StripeReadsInFlight, CancellationToken = cancellationToken },
            async (holder, ct) =>
            {
                var keys = keysOf[holder.Id];
                var inPlan = keys.Where(counted.ContainsKey).ToList();
                long? countedUnits = inPlan.Count == 0 ? null : inPlan.Sum(k => counted[k]);
                var recorded = keys.Sum(k => watermarks.TryGetValue(k, out var w) ? w.Reported : 0);
                var inFlight = keys.Sum(k => watermarks.TryGetValue(k, out var w) ? w.Pending?.Units ?? 0 : 0);
                if (countedUnits is null && recorded == 0 && inFlight == 0)
                {
                    return;
                }

                long? billed = channel == Channel.Stripe && holder.StripeCustomerId is { } customer
                    ? await billing.UsageBilledOnAsync(customer, day, ct)
                    : null;
                judged.Add(Judge(holder, channel, keys, inPlan, counted, watermarks, countedUnits, recorded, inFlight, billed));
            });
        var rows = judged.OrderBy(r => r.SubscriberId, StringComparer.Ordinal).ToList();

        foreach (var key in unheld)
        {
            var recorded = watermarks.TryGetValue(key, out var w) ? w.Reported : 0;
            rows.Add(new ReconciledRow(null, channel, [key], counted[key], recorded, w?.Pending?.Units ?? 0, null, 0, "served by a key no subscriber holds: not billed"));
        }

        return rows;
    }

    private static ReconciledRow Judge(
        Subscriber holder,
        Channel channel,
        IReadOnlyList<string> keys,
        IReadOnlyList<string> inPlan,
        Dictionary<string, long> counted,
        Dictionary<string, UsageWatermark> watermarks,
        long? countedUnits,
        long recorded,
        long inFlight,
        long? billed)
    {
        var row = new ReconciledRow(holder.Id, channel, keys, countedUnits, recorded, inFlight, billed, 0, "agrees");
        if (holder.MeteredByApiGateway)
        {
            return row with { Finding = "metered to Marketplace by API Gateway itself: nothing recorded here" };
        }

        // What API Gateway counted for the keys still in the plan, against what was recorded of those keys.
        var recordedInPlan = inPlan.Sum(k => watermarks.TryGetValue(k, out var w) ? w.Reported + (w.Pending?.Units ?? 0) : 0);
        var unbilled = Math.Max(0, inPlan.Sum(k => counted[k]) - recordedInPlan);
        var findings = new List<string>();
        long drift = 0;
        if (unbilled > 0)
        {
            drift += unbilled;
            findings.Add($"{unbilled} counted but never billed");
        }

        if (billed is { } held)
        {
            if (held == recorded + inFlight && inFlight > 0)
            {
                findings.Add($"a claim of {inFlight} left in flight was accepted");
            }
            else if (held > recorded)
            {
                drift += held - recorded;
                findings.Add($"{held - recorded} billed above what was recorded");
            }
            else if (held < recorded)
            {
                drift += recorded - held;
                findings.Add($"{recorded - held} recorded but not billed");
            }

            if (inFlight > 0 && held == recorded)
            {
                drift += inFlight;
                findings.Add($"a claim of {inFlight} left in flight was never accepted: owed");
            }
        }
        else if (inFlight > 0)
        {
            findings.Add($"a claim of {inFlight} left in flight");
        }

        if (countedUnits is null)
        {
            findings.Add("no key in the plan any more: nothing counted to compare");
        }

        return row with { Drift = drift, Finding = findings.Count == 0 ? "agrees" : string.Join("; ", findings) };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconciled {Day}: {Rows} rows, {Drift} units of drift")]
    private static partial void LogReconciled(ILogger logger, string day, int rows, long drift);
}
