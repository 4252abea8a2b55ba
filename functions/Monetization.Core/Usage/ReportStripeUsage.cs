using System.Globalization;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Core.Usage;

/// <summary>
/// Bills the Stripe plan's usage: for each key with usage on a day still open whose subscriber is active or whose key
/// is settling (access ended, the key disabled but still in the plan), the units above the day's watermark are claimed,
/// sent, and committed once Stripe accepted. Units of a subscription that still exists go to the meter as one event
/// whose identifier names the claim; units counted after the subscription was canceled, which no subscription would
/// invoice, become one-off invoice items on the customer. A claim a crashed run left behind is sent again unchanged and
/// Stripe deduplicates it by identifier. Before claiming, the run finishes the settling keys that have nothing left to
/// bill: a subscription we ended is canceled with its final invoice, a canceled one's invoice items are invoiced, and
/// the key leaves the plan.
/// </summary>
public sealed partial class ReportStripeUsage
{
    private readonly UsageClaims _claims;
    private readonly KeySettlement _settlement;
    private readonly IUsageLedger _ledger;
    private readonly IUsageMeter _meter;
    private readonly IBilling _billing;
    private readonly SpendCaps _caps;
    private readonly UsageReportingOptions _options;
    private readonly string _stripeUsagePlanId;
    private readonly string? _freeUsagePlanId;
    private readonly ILogger<ReportStripeUsage> _logger;

    public ReportStripeUsage(
        IApiKeys apiKeys,
        IUsageLedger ledger,
        ISubscriberLedger subscribers,
        ApiKeyAccess access,
        IUsageMeter meter,
        IBilling billing,
        SpendCaps caps,
        UsageReportingOptions options,
        StripeChannelOptions channel,
        TimeProvider time,
        ILogger<ReportStripeUsage> logger)
    {
        ArgumentNullException.ThrowIfNull(apiKeys);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(subscribers);
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(billing);
        ArgumentNullException.ThrowIfNull(caps);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _claims = new UsageClaims(apiKeys, ledger, options.LedgerParallelism);
        _settlement = new KeySettlement(ledger, subscribers, access, _claims, options, time, logger);
        _ledger = ledger;
        _meter = meter;
        _billing = billing;
        _caps = caps;
        _options = options;
        _stripeUsagePlanId = channel.StripeUsagePlanId;
        _freeUsagePlanId = channel.OffersFreePlan ? channel.FreeUsagePlanId : null;
        _logger = logger;
    }

    /// <summary>The identifier Stripe deduplicates a day's report on: key id, day and the cumulative count it reaches.</summary>
    public static string Identifier(UsageDay day, long cumulative)
    {
        ArgumentNullException.ThrowIfNull(day);
        return string.Create(CultureInfo.InvariantCulture, $"usage:{day.ApiKeyId}:{day.Day:yyyyMMdd}:{cumulative}");
    }

    /// <summary>The UTC day an <see cref="Identifier"/> bills, or null for an identifier of another shape.</summary>
    public static DateOnly? DayOf(string identifier) =>
        identifier?.Split(':') is ["usage", _, var day, _]
        && DateOnly.TryParseExact(day, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
            ? parsed
            : null;

    /// <remarks>
    /// Keys are taken <see cref="UsageReportingOptions.KeysPerChunk"/> at a time (look-ups, claims, sends, commits), so
    /// memory stays bounded however many keys the plan has; events that do not fill a batch wait for the next chunk,
    /// so every request but the last carries a full batch.
    /// </remarks>
    public async Task<StripeUsageSummary> RunAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var counted = await _claims.CountedDaysAsync(_stripeUsagePlanId, now, null, cancellationToken);
        var keysWithUsage = counted.Count;
        var totals = new Totals();
        var settleFailures = await SettleAsync(counted, now, totals, cancellationToken);
        var (reached, failures) = await PassAsync(counted, counted.Keys, now, totals, cancellationToken);

        // A day whose claim an earlier run left in flight gets no second claim while that claim is resent; once the
        // resends are in, one more pass claims and sends what they left behind, so no unit waits behind a failure.
        var behind = totals.ResentCommitted
            .Where(w => counted[w.Day.ApiKeyId].UsedOn(w.Day.Day) > w.Claim.To)
            .Select(w => w.Day.ApiKeyId)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (failures == 0 && behind.Count > 0)
        {
            (_, failures) = await PassAsync(counted, behind, now, totals, cancellationToken);
        }

        // Spend caps follow what this run billed: a cap reached now stops its key within this report's interval.
        var caps = await _caps.RunAsync(totals.Billed.Values, _options.AccountPageUrl, cancellationToken);
        return new StripeUsageSummary
        {
            CapsReached = caps.Reached,
            CapsLifted = caps.Lifted,
            CapEmailsSent = caps.Mailed,
            KeysWithUsage = keysWithUsage,
            KeysSkipped = totals.Skipped,
            KeysNotReached = counted.Count - reached,
            EventsSent = totals.Sent,
            EventsResent = totals.Resent,
            UnitsReported = totals.Units,
            UnitsInvoiced = totals.Invoiced,
            Requests = totals.Requests,
            KeysSettled = totals.Settled,
            EndedKeysDeleted = totals.EndedKeysDeleted,
            DaysClaimedElsewhere = totals.ClaimedElsewhere,
            Failures = failures + settleFailures + caps.Failures,
        };
    }

    /// <summary>
    /// Finishes the keys that have settled: a subscription we ended is canceled now with the final invoice its usage is
    /// on (a run ago, so Stripe has aggregated it), a canceled subscription's invoice items are invoiced, and the key
    /// leaves the plan. They take no part in the rest of the run.
    /// </summary>
    /// <returns>How many could not be finished (Stripe or AWS failed); the next run tries again.</returns>
    private async Task<int> SettleAsync(Dictionary<string, OpenDays> counted, DateTimeOffset now, Totals totals, CancellationToken cancellationToken)
    {
        var attempt = Attempt(now);
        var (settled, deleted, failures) = await _settlement.SettleAsync(
            _stripeUsagePlanId,
            counted,
            now,
            _ => true,
            async (subscriber, ct) =>
            {
                if (subscriber is { EndRequestedAt: not null, StripeSubscriptionId: { } subscriptionId })
                {
                    await _billing.CancelSubscriptionAsync(subscriptionId, $"end-subscription:{subscriber.Id}:{subscriptionId}:{attempt}", ct);
                }

                if (subscriber is { Status: SubscriberStatus.Cancelled, StripeCustomerId: { } customerId })
                {
                    await _billing.InvoicePendingUsageAsync(customerId, $"final-usage:{subscriber.Id}:{attempt}", ct);
                }
            },
            cancellationToken);
        totals.Settled += settled;
        totals.EndedKeysDeleted += deleted;
        if (_freeUsagePlanId is { } freePlan)
        {
            // Nothing of the free plan is billed: its retired keys stop when their overlap ends and go a window later.
            var (freeSettled, freeDeleted, freeFailures) = await _settlement.SettleAsync(
                freePlan, new Dictionary<string, OpenDays>(StringComparer.Ordinal), now, _ => false, (_, _) => Task.CompletedTask, cancellationToken);
            totals.Settled += freeSettled;
            totals.EndedKeysDeleted += freeDeleted;
            failures += freeFailures;
        }

        return failures;
    }

    /// <summary>
    /// What makes this run's idempotency keys its own: a later run finds what an earlier one did by looking it up, so a
    /// failure Stripe stored for an earlier run's key is never replayed to it.
    /// </summary>
    private static string Attempt(DateTimeOffset now) => now.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>Claims and sends the units of <paramref name="keyIds"/> above their watermarks, chunk by chunk.</summary>
    /// <returns>How many keys were reached before Stripe failed (all of them when it did not), and the events left unsent.</returns>
    private async Task<(int Reached, int Failures)> PassAsync(
        Dictionary<string, OpenDays> counted, IReadOnlyCollection<string> keyIds, DateTimeOffset now, Totals totals, CancellationToken cancellationToken)
    {
        var waiting = new List<(UsageWork Work, MeterUsage Usage)>();
        var itemized = new List<(UsageWork Work, MeterUsage Usage)>();
        var reached = 0;
        var delivering = true;
        foreach (var keys in keyIds.Chunk(_options.KeysPerChunk))
        {
            reached += keys.Length;
            var subscribers = await _ledger.FindSubscribersByApiKeyAsync(keys, cancellationToken);
            var billable = new Dictionary<string, Subscriber>(StringComparer.Ordinal);
            foreach (var keyId in keys)
            {
                if (subscribers.TryGetValue(keyId, out var subscriber) && IsBillable(subscriber, keyId))
                {
                    billable[keyId] = subscriber;
                }
                else
                {
                    totals.Skipped++;
                }
            }

            var (work, claimedElsewhere) = await _claims.ClaimAsync(counted, billable.Keys, day => Timestamp(day.Day, now), _ => false, key => key, cancellationToken);
            totals.ClaimedElsewhere += claimedElsewhere;
            foreach (var w in work)
            {
                var subscriber = billable[w.Day.ApiKeyId];
                totals.Billed.TryAdd(subscriber.Id, subscriber);
                var usage = new MeterUsage(subscriber.StripeCustomerId!, w.Claim.Units, w.Claim.Timestamp, Identifier(w.Day, w.Claim.To));
                (subscriber.Status == SubscriberStatus.Cancelled ? itemized : waiting).Add((w, usage));
            }

            if (!(delivering = await SendAsync(waiting, fullBatchesOnly: true, totals, cancellationToken)))
            {
                break;
            }
        }

        if (delivering)
        {
            delivering = await SendAsync(waiting, fullBatchesOnly: false, totals, cancellationToken);
        }

        if (delivering)
        {
            await InvoiceAsync(itemized, now, totals, cancellationToken);
        }

        return (reached, waiting.Count + itemized.Count);
    }

    /// <summary>
    /// Active, or settling: a key whose access ended is billed like any other until it leaves the plan, whatever the
    /// subscription's status, and so is a key a rotation retired; a subscriber still registering has used nothing billable.
    /// </summary>
    private static bool IsBillable(Subscriber subscriber, string keyId) =>
        subscriber is { Channel: Channel.Stripe, StripeCustomerId: { Length: > 0 } }
        && (subscriber.Status == SubscriberStatus.Active || subscriber.SettlingSince is not null || !string.Equals(subscriber.ApiKeyId, keyId, StringComparison.Ordinal));

    /// <summary>
    /// Bills units counted after the subscription was canceled as invoice items, one per claim, committing each once
    /// Stripe took it; what is billed leaves <paramref name="itemized"/>. Each attempt has its own idempotency key and
    /// finds what an earlier one created by the claim's identifier, so no failure Stripe stored is replayed.
    /// </summary>
    private async Task InvoiceAsync(List<(UsageWork Work, MeterUsage Usage)> itemized, DateTimeOffset now, Totals totals, CancellationToken cancellationToken)
    {
        var attempt = Attempt(now);
        while (itemized.Count > 0)
        {
            var (work, usage) = itemized[0];
            totals.Requests++;
            try
            {
                await _billing.BillUsageItemAsync(usage, $"usage-item:{usage.Identifier}:{attempt}", cancellationToken);
            }
            catch (DependencyUnavailableException e)
            {
                LogStripeFailed(_logger, itemized.Count, e);
                return;
            }

            await _claims.CommitAsync([work], cancellationToken);
            itemized.RemoveAt(0);
            totals.Sent++;
            totals.Resent += work.Resend ? 1 : 0;
            totals.Units += usage.Value;
            totals.Invoiced += usage.Value;
            if (work.Resend)
            {
                totals.ResentCommitted.Add(work);
            }
        }
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

        public long Invoiced { get; set; }

        public int Settled { get; set; }

        public int EndedKeysDeleted { get; set; }

        public int Requests { get; set; }

        public int ClaimedElsewhere { get; set; }

        public List<UsageWork> ResentCommitted { get; } = [];

        /// <summary>The subscribers this run claimed units of, by id.</summary>
        public Dictionary<string, Subscriber> Billed { get; } = new(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe did not accept {Count} usage reports; their claims stay for the next run")]
    private static partial void LogStripeFailed(ILogger logger, int count, Exception exception);
}
