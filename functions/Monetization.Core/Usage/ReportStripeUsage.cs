using System.Globalization;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Core.Usage;

/// <summary>
/// Bills the Stripe plan's usage to Stripe meters: for each key with usage on a day still open and an active Stripe
/// subscriber, the units above the day's watermark are claimed, sent as one meter event whose identifier names the
/// claim, and committed once Stripe accepted. A claim a crashed run left behind is sent again unchanged and Stripe
/// deduplicates it by identifier.
/// </summary>
public sealed partial class ReportStripeUsage
{
    private readonly UsageClaims _claims;
    private readonly IUsageLedger _ledger;
    private readonly IUsageMeter _meter;
    private readonly UsageReportingOptions _options;
    private readonly ILogger<ReportStripeUsage> _logger;

    public ReportStripeUsage(IApiKeys apiKeys, IUsageLedger ledger, IUsageMeter meter, UsageReportingOptions options, ILogger<ReportStripeUsage> logger)
    {
        ArgumentNullException.ThrowIfNull(apiKeys);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _claims = new UsageClaims(apiKeys, ledger, options.LedgerParallelism);
        _ledger = ledger;
        _meter = meter;
        _options = options;
        _logger = logger;
    }

    /// <summary>The identifier Stripe deduplicates a day's report on: key id, day and the cumulative count it reaches.</summary>
    public static string Identifier(UsageDay day, long cumulative)
    {
        ArgumentNullException.ThrowIfNull(day);
        return string.Create(CultureInfo.InvariantCulture, $"usage:{day.ApiKeyId}:{day.Day:yyyyMMdd}:{cumulative}");
    }

    /// <remarks>
    /// Keys are taken <see cref="UsageReportingOptions.KeysPerChunk"/> at a time (look-ups, claims, sends, commits), so
    /// memory stays bounded however many keys the plan has; events that do not fill a batch wait for the next chunk,
    /// so every request but the last carries a full batch.
    /// </remarks>
    public Task<UsageReportSummary> RunAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReportAsync(now, null, cancellationToken);

    /// <summary>
    /// Reports what one key used up to now, for the billing flow to call while a subscription stops being paid for:
    /// the key is already disabled and its subscriber still recorded active, and it leaves the plan (whose usage
    /// API Gateway reports) only afterwards. Stripe puts the units on the subscription's next invoice, or on the final
    /// one while that is still a draft.
    /// </summary>
    /// <exception cref="DependencyUnavailableException">Stripe did not accept all of it; the claims stay for a retry.</exception>
    public async Task<UsageReportSummary> FlushAsync(string apiKeyId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKeyId);
        return (await ReportAsync(now, apiKeyId, cancellationToken)).EnsureAccepted("stripe", apiKeyId);
    }

    private async Task<UsageReportSummary> ReportAsync(DateTimeOffset now, string? onlyKey, CancellationToken cancellationToken)
    {
        var counted = await _claims.CountedDaysAsync(_options.StripeUsagePlanId, now, onlyKey, cancellationToken);
        var totals = new Totals();
        var (reached, failures) = await PassAsync(counted, counted.Keys, now, totals, cancellationToken);

        // A day whose claim an earlier run left in flight gets no second claim while that claim is resent, so units
        // counted above it would wait for the next run, which for a key whose subscription just ended never comes.
        // Once the resends are in, one more pass claims and sends what they left behind.
        var behind = totals.ResentCommitted
            .Where(w => counted[w.Day.ApiKeyId].UsedOn(w.Day.Day) > w.Claim.To)
            .Select(w => w.Day.ApiKeyId)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (failures == 0 && behind.Count > 0)
        {
            (_, failures) = await PassAsync(counted, behind, now, totals, cancellationToken);
        }

        return new UsageReportSummary
        {
            StripeKeysWithUsage = counted.Count,
            StripeKeysSkipped = totals.Skipped,
            StripeKeysNotReached = counted.Count - reached,
            StripeEventsSent = totals.Sent,
            StripeEventsResent = totals.Resent,
            StripeUnitsReported = totals.Units,
            StripeRequests = totals.Requests,
            DaysClaimedElsewhere = totals.ClaimedElsewhere,
            Failures = failures,
        };
    }

    /// <summary>Claims and sends the units of <paramref name="keyIds"/> above their watermarks, chunk by chunk.</summary>
    /// <returns>How many keys were reached before Stripe failed (all of them when it did not), and the events left unsent.</returns>
    private async Task<(int Reached, int Failures)> PassAsync(
        Dictionary<string, OpenDays> counted, IReadOnlyCollection<string> keyIds, DateTimeOffset now, Totals totals, CancellationToken cancellationToken)
    {
        var waiting = new List<(UsageWork Work, MeterUsage Usage)>();
        var reached = 0;
        var delivering = true;
        foreach (var keys in keyIds.Chunk(_options.KeysPerChunk))
        {
            reached += keys.Length;
            var subscribers = await _ledger.FindSubscribersByApiKeyAsync(keys, cancellationToken);
            var billable = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var keyId in keys)
            {
                if (subscribers.TryGetValue(keyId, out var subscriber)
                    && subscriber is { Channel: Channel.Stripe, Status: SubscriberStatus.Active, StripeCustomerId: { Length: > 0 } customerId })
                {
                    billable[keyId] = customerId;
                }
                else
                {
                    totals.Skipped++;
                }
            }

            var (work, claimedElsewhere) = await _claims.ClaimAsync(counted, billable.Keys, day => Timestamp(day.Day, now), _ => false, cancellationToken);
            totals.ClaimedElsewhere += claimedElsewhere;
            waiting.AddRange(work.Select(w => (w, new MeterUsage(billable[w.Day.ApiKeyId], w.Claim.Units, w.Claim.Timestamp, Identifier(w.Day, w.Claim.To)))));
            if (!(delivering = await SendAsync(waiting, fullBatchesOnly: true, totals, cancellationToken)))
            {
                break;
            }
        }

        if (delivering)
        {
            await SendAsync(waiting, fullBatchesOnly: false, totals, cancellationToken);
        }

        return (reached, waiting.Count);
    }

    /// <summary>
    /// Sends the waiting events in batches, committing each batch's claims once Stripe accepted it; what is sent leaves
    /// <paramref name="waiting"/>. Returns <c>false</c> when Stripe failed: the claims stay in flight, the next run sends
    /// them again with the same identifiers, and with Stripe down the next batches would not fare better.
    /// </summary>
    private async Task<bool> SendAsync(List<(UsageWork Work, MeterUsage Usage)> waiting, bool fullBatchesOnly, Totals totals, CancellationToken cancellationToken)
    {
        var kept = new List<(UsageWork, MeterUsage)>();
        var batches = DistinctCustomerBatches(waiting, e => e.Usage.CustomerId, _meter.MaxBatchSize);
        for (var i = 0; i < batches.Count; i++)
        {
            var batch = batches[i];
            if (fullBatchesOnly && batch.Count < _meter.MaxBatchSize)
            {
                kept.AddRange(batch);
                continue;
            }

            cancellationToken.ThrowIfCancellationRequested();
            totals.Requests++;
            try
            {
                await _meter.ReportAsync([.. batch.Select(e => e.Usage)], cancellationToken);
            }
            catch (DependencyUnavailableException e)
            {
                LogStripeFailed(_logger, batch.Count, e);
                waiting.Clear();
                waiting.AddRange(kept);
                waiting.AddRange(batches.Skip(i).SelectMany(b => b));
                return false;
            }

            await _claims.CommitAsync(batch.Select(e => e.Work), cancellationToken);
            totals.ResentCommitted.AddRange(batch.Select(e => e.Work).Where(w => w.Resend));
            totals.Sent += batch.Count;
            totals.Resent += batch.Count(e => e.Work.Resend);
            totals.Units += batch.Sum(e => e.Usage.Value);
        }

        waiting.Clear();
        waiting.AddRange(kept);
        return true;
    }

    /// <summary>
    /// Batches of at most <paramref name="size"/> in which no customer appears twice, so no customer ever has two
    /// events in flight; a customer's events land in ever later batches, which keeps their order.
    /// </summary>
    private static List<List<T>> DistinctCustomerBatches<T>(IReadOnlyList<T> items, Func<T, string> customerOf, int size)
    {
        var batches = new List<List<T>>();
        var lastBatchOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var firstOpen = 0;
        foreach (var item in items)
        {
            var customer = customerOf(item);
            var at = Math.Max(firstOpen, lastBatchOf.TryGetValue(customer, out var last) ? last + 1 : 0);
            while (at < batches.Count && batches[at].Count >= size)
            {
                at++;
            }

            if (at == batches.Count)
            {
                batches.Add([]);
            }

            // Every earlier event of this customer sits in a batch before this one.
            batches[at].Add(item);
            lastBatchOf[customer] = at;
            while (firstOpen < batches.Count && batches[firstOpen].Count >= size)
            {
                firstOpen++;
            }
        }

        return batches;
    }

    /// <summary>Inside the day the units were counted on, and never in the future.</summary>
    private static DateTimeOffset Timestamp(DateOnly day, DateTimeOffset now)
    {
        var lastSecond = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(1).AddSeconds(-1);
        var at = now < lastSecond ? now : lastSecond;
        return DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());
    }

    private sealed class Totals
    {
        public int Skipped { get; set; }

        public int Sent { get; set; }

        public int Resent { get; set; }

        public long Units { get; set; }

        public int Requests { get; set; }

        public int ClaimedElsewhere { get; set; }

        public List<UsageWork> ResentCommitted { get; } = [];
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe did not accept a batch of {Count} meter events; their claims stay for the next run")]
    private static partial void LogStripeFailed(ILogger logger, int count, Exception exception);
}
