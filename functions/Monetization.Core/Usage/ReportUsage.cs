using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;

namespace Monetization.Core.Usage;

/// <summary>
/// Bills the API usage API Gateway counted. For each UTC day still open (yesterday and today) and each key with
/// usage, the units above the ledger's watermark are first claimed in the ledger, then sent (Stripe meter events;
/// Marketplace hourly records), and the watermark moves to the claim only after the provider accepted. A claim a
/// crashed run left behind is sent again unchanged before anything new, and the provider deduplicates it (Stripe by
/// identifier, Marketplace by customer, dimension and hour), so a crash at any point, a rerun or two runs at once bill
/// every unit exactly once.
/// </summary>
public sealed partial class ReportUsage
{
    /// <summary>Marketplace refuses records older than this.</summary>
    public static readonly TimeSpan MarketplaceWindow = TimeSpan.FromHours(6);

    private const int MarketplaceBatchSize = 25;

    private readonly IApiKeys _apiKeys;
    private readonly IUsageLedger _ledger;
    private readonly IUsageMeter _meter;
    private readonly IMarketplaceMetering _metering;
    private readonly UsageReportingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ReportUsage> _logger;

    public ReportUsage(
        IApiKeys apiKeys,
        IUsageLedger ledger,
        IUsageMeter meter,
        IMarketplaceMetering metering,
        UsageReportingOptions options,
        TimeProvider time,
        ILogger<ReportUsage> logger)
    {
        ArgumentNullException.ThrowIfNull(apiKeys);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(meter);
        ArgumentNullException.ThrowIfNull(metering);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _apiKeys = apiKeys;
        _ledger = ledger;
        _meter = meter;
        _metering = metering;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>The identifier Stripe deduplicates a day's report on: key id, day and the cumulative count it reaches.</summary>
    public static string Identifier(UsageDay day, long cumulative)
    {
        ArgumentNullException.ThrowIfNull(day);
        return string.Create(CultureInfo.InvariantCulture, $"usage:{day.ApiKeyId}:{day.Day:yyyyMMdd}:{cumulative}");
    }

    public async Task<UsageReportSummary> RunAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var summary = await ReportStripeAsync(now, cancellationToken);
        if (!string.IsNullOrEmpty(_options.MarketplaceUsagePlanId))
        {
            summary = await ReportMarketplaceAsync(summary, now, null, cancellationToken);
        }

        LogSummary(_logger, summary.StripeUnitsReported, summary.StripeEventsSent, summary.StripeKeysSkipped, summary.MarketplaceUnitsReported, summary.MarketplaceRecordsSent, summary.Failures);
        return summary;
    }

    /// <summary>
    /// Meters what a Marketplace buyer used up to now, for the subscription-event flow to call before access ends:
    /// after revocation the key stops counting, and waiting for the hourly run could leave the records outside
    /// Marketplace's six-hour window.
    /// </summary>
    public async Task<UsageReportSummary> FlushMarketplaceAsync(string apiKeyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKeyId);
        if (string.IsNullOrEmpty(_options.MarketplaceUsagePlanId))
        {
            return new UsageReportSummary();
        }

        return await ReportMarketplaceAsync(new UsageReportSummary(), _time.GetUtcNow(), apiKeyId, cancellationToken);
    }

    /// <remarks>
    /// Keys are taken <see cref="UsageReportingOptions.KeysPerChunk"/> at a time (look-ups, claims, sends, commits), so
    /// memory stays bounded however many keys the plan has; events that do not fill a batch wait for the next chunk,
    /// so every request but the last carries a full batch.
    /// </remarks>
    private async Task<UsageReportSummary> ReportStripeAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var counted = await CountedDaysAsync(_options.StripeUsagePlanId, now, null, cancellationToken);
        var totals = new StripeTotals();
        var waiting = new List<(Work Work, MeterUsage Usage)>();
        var reached = 0;
        var delivering = true;
        foreach (var keys in counted.Keys.Chunk(_options.KeysPerChunk))
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

            var (work, claimedElsewhere) = await ClaimAsync(counted, billable.Keys, day => StripeTimestamp(day.Day, now), _ => false, cancellationToken);
            totals.ClaimedElsewhere += claimedElsewhere;
            waiting.AddRange(work.Select(w => (w, new MeterUsage(billable[w.Day.ApiKeyId], w.Claim.Units, w.Claim.Timestamp, Identifier(w.Day, w.Claim.To)))));
            if (!(delivering = await SendStripeAsync(waiting, fullBatchesOnly: true, totals, cancellationToken)))
            {
                break;
            }
        }

        if (delivering)
        {
            await SendStripeAsync(waiting, fullBatchesOnly: false, totals, cancellationToken);
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
            Failures = waiting.Count,
        };
    }

    /// <summary>
    /// Sends the waiting events in batches, committing each batch's claims once Stripe accepted it; what is sent leaves
    /// <paramref name="waiting"/>. Returns <c>false</c> when Stripe failed: the claims stay in flight, the next run sends
    /// them again with the same identifiers, and with Stripe down the next batches would not fare better.
    /// </summary>
    private async Task<bool> SendStripeAsync(List<(Work Work, MeterUsage Usage)> waiting, bool fullBatchesOnly, StripeTotals totals, CancellationToken cancellationToken)
    {
        var kept = new List<(Work, MeterUsage)>();
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

            await CommitAsync(batch.Select(e => e.Work), cancellationToken);
            totals.Sent += batch.Count;
            totals.Resent += batch.Count(e => e.Work.Resend);
            totals.Units += batch.Sum(e => e.Usage.Value);
        }

        waiting.Clear();
        waiting.AddRange(kept);
        return true;
    }

    private async Task<UsageReportSummary> ReportMarketplaceAsync(UsageReportSummary summary, DateTimeOffset now, string? onlyKey, CancellationToken cancellationToken)
    {
        var productCode = _options.MarketplaceProductCode
            ?? throw new InvalidOperationException("Usage:MarketplaceProductCode is required with Usage:MarketplaceUsagePlanId.");
        var counted = await CountedDaysAsync(_options.MarketplaceUsagePlanId!, now, onlyKey, cancellationToken);
        foreach (var keys in counted.Keys.Chunk(_options.KeysPerChunk))
        {
            summary = await MeterMarketplaceAsync(summary, counted, keys, now, productCode, cancellationToken);
        }

        return summary;
    }

    private async Task<UsageReportSummary> MeterMarketplaceAsync(
        UsageReportSummary summary,
        Dictionary<string, OpenDays> counted,
        string[] keys,
        DateTimeOffset now,
        string productCode,
        CancellationToken cancellationToken)
    {
        var subscribers = await _ledger.FindSubscribersByApiKeyAsync(keys, cancellationToken);
        var buyers = new Dictionary<string, Subscriber>(StringComparer.Ordinal);
        int byApiGateway = 0, skipped = 0;
        foreach (var keyId in keys)
        {
            if (!subscribers.TryGetValue(keyId, out var subscriber) || subscriber.Channel != Channel.Marketplace
                || subscriber.Status is not (SubscriberStatus.Active or SubscriberStatus.Suspended))
            {
                skipped++;
            }
            else if (subscriber.MarketplaceCustomerIdentifier is not null)
            {
                // API Gateway meters this key itself (the usage plan's product code, the key's customerId).
                byApiGateway++;
            }
            else if (subscriber is { CustomerAwsAccountId: { Length: > 0 }, LicenseArn: { Length: > 0 } })
            {
                buyers[keyId] = subscriber;
            }
            else
            {
                skipped++;
            }
        }

        // Marketplace deduplicates on customer, dimension and hour: a second record in an hour already metered for the
        // buyer would be refused, so new units wait for the next hour.
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var (work, claimedElsewhere) = await ClaimAsync(counted, buyers.Keys, _ => hour, w => w.LastReportedAt == hour, cancellationToken);
        var deferred = work.Count(w => w.Deferred);
        work = [.. work.Where(w => !w.Deferred)];

        // One record per buyer and hour: the days' claims stamped with that hour add up.
        var records = work
            .Where(w => w.Claim.Timestamp >= now - MarketplaceWindow)
            .GroupBy(w => (w.Day.ApiKeyId, w.Claim.Timestamp))
            .Select(g => (Claims: g.ToList(), Record: new MeteringRecord(
                g.Key.Timestamp, null, buyers[g.Key.ApiKeyId].CustomerAwsAccountId, buyers[g.Key.ApiKeyId].LicenseArn, _options.MarketplaceDimension, checked((int)g.Sum(w => w.Claim.Units)))))
            .ToList();

        // A claim older than the window can no longer be sent, and whether Marketplace took it before the run that made
        // it died is unknown; billing a buyer twice is worse than missing units, so it is written off.
        var expired = work.Where(w => w.Claim.Timestamp < now - MarketplaceWindow).ToList();
        await CommitAsync(expired, cancellationToken);
        foreach (var claim in expired)
        {
            LogClaimWrittenOff(_logger, claim.Claim.Units, claim.Day.ApiKeyId, claim.Claim.Timestamp);
        }

        long units = 0;
        int sent = 0, requests = 0, notSubscribed = 0, failures = 0;
        var byRecord = records.ToDictionary(r => r.Record, r => r.Claims);
        var reachable = true;
        foreach (var chunk in records.Chunk(MarketplaceBatchSize))
        {
            var pending = chunk.Select(c => c.Record).ToList();
            for (var attempt = 0; reachable && pending.Count > 0 && attempt <= _options.UnprocessedRetries; attempt++)
            {
                requests++;
                IReadOnlyList<MeteringRecordResult> results;
                try
                {
                    results = await _metering.BatchMeterUsageAsync(productCode, pending, cancellationToken);
                }
                catch (DependencyUnavailableException e)
                {
                    // Claims stay for the next run; with Metering down the remaining chunks would not fare better.
                    LogMarketplaceFailed(_logger, pending.Count, e);
                    reachable = false;
                    break;
                }

                var next = new List<MeteringRecord>();
                foreach (var result in results)
                {
                    var claims = byRecord[result.Record];
                    switch (result.Status)
                    {
                        case MeteringRecordStatus.Success:
                            await CommitAsync(claims, cancellationToken);
                            sent++;
                            units += result.Record.Quantity;
                            break;
                        case MeteringRecordStatus.CustomerNotSubscribed:
                            // Marketplace will never bill these units; recording them stops endless retries.
                            await CommitAsync(claims, cancellationToken);
                            notSubscribed++;
                            LogNotSubscribed(_logger, result.Record.Quantity, claims[0].Day.ApiKeyId);
                            break;
                        case MeteringRecordStatus.DuplicateRecord:
                            // The hour was metered with another quantity: send the units again next hour.
                            await ForEachAsync(claims, (w, ct) => _ledger.TryReleaseAsync(w.Day, w.Claim, ct), cancellationToken);
                            failures++;
                            break;
                        default:
                            next.Add(result.Record);
                            break;
                    }
                }

                pending = next;
            }

            failures += pending.Count;
        }

        return summary with
        {
            MarketplaceKeysWithUsage = summary.MarketplaceKeysWithUsage + keys.Length,
            MarketplaceKeysMeteredByApiGateway = summary.MarketplaceKeysMeteredByApiGateway + byApiGateway,
            MarketplaceKeysSkipped = summary.MarketplaceKeysSkipped + skipped,
            MarketplaceKeysDeferred = summary.MarketplaceKeysDeferred + deferred,
            MarketplaceRecordsSent = summary.MarketplaceRecordsSent + sent,
            MarketplaceUnitsReported = summary.MarketplaceUnitsReported + units,
            MarketplaceNotSubscribed = summary.MarketplaceNotSubscribed + notSubscribed,
            MarketplaceUnitsWrittenOff = summary.MarketplaceUnitsWrittenOff + expired.Sum(w => w.Claim.Units),
            MarketplaceRequests = summary.MarketplaceRequests + requests,
            DaysClaimedElsewhere = summary.DaysClaimedElsewhere + claimedElsewhere,
            Failures = summary.Failures + failures,
        };
    }

    /// <summary>Keys with a non-zero count on a day still open, with those counts (a struct each: there may be many keys).</summary>
    private async Task<Dictionary<string, OpenDays>> CountedDaysAsync(string usagePlanId, DateTimeOffset now, string? keyId, CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var usage = await _apiKeys.GetUsageAsync(usagePlanId, today.AddDays(-1), today, keyId, cancellationToken);
        var counted = new Dictionary<string, OpenDays>(StringComparer.Ordinal);
        foreach (var (key, days) in usage)
        {
            var open = new OpenDays(
                today,
                days.Where(d => d.Day == today.AddDays(-1)).Sum(d => d.Used),
                days.Where(d => d.Day == today).Sum(d => d.Used));
            if (open.Yesterday > 0 || open.Today > 0)
            {
                counted[key] = open;
            }
        }

        return counted;
    }

    /// <summary>
    /// What to send this run: every claim left in flight (unchanged), then a new claim for each day counted above its
    /// watermark. A day with a claim in flight gets no second one this run; its newer units follow next run.
    /// </summary>
    private async Task<(List<Work> Work, int ClaimedElsewhere)> ClaimAsync(
        Dictionary<string, OpenDays> counted,
        IEnumerable<string> keys,
        Func<UsageDay, DateTimeOffset> timestampOf,
        Func<UsageWatermark, bool> deferOf,
        CancellationToken cancellationToken)
    {
        var usedOf = new Dictionary<UsageDay, long>();
        foreach (var key in keys)
        {
            foreach (var (day, used) in counted[key].Counted)
            {
                usedOf[new UsageDay(key, day)] = used;
            }
        }

        var watermarks = await _ledger.GetWatermarksAsync([.. usedOf.Keys], cancellationToken);
        var deferredKeys = watermarks.Where(deferOf).Select(w => w.Day.ApiKeyId).ToHashSet(StringComparer.Ordinal);
        var work = new ConcurrentBag<Work>();
        var candidates = new List<Work>();
        foreach (var watermark in watermarks)
        {
            if (watermark.Pending is { } pending)
            {
                work.Add(new Work(watermark.Day, pending, Resend: true, Deferred: false));
            }
            else if (usedOf[watermark.Day] > watermark.Reported)
            {
                var deferred = deferredKeys.Contains(watermark.Day.ApiKeyId);
                var claim = new UsageClaim(watermark.Reported, usedOf[watermark.Day], timestampOf(watermark.Day));
                if (deferred)
                {
                    work.Add(new Work(watermark.Day, claim, Resend: false, Deferred: true));
                }
                else
                {
                    candidates.Add(new Work(watermark.Day, claim, Resend: false, Deferred: false));
                }
            }
        }

        var elsewhere = 0;
        await ForEachAsync(
            candidates,
            async (candidate, ct) =>
            {
                if (await _ledger.TryClaimAsync(candidate.Day, candidate.Claim, ct))
                {
                    work.Add(candidate);
                }
                else
                {
                    Interlocked.Increment(ref elsewhere);
                }

                return true;
            },
            cancellationToken);

        // Resends first, in a stable order, so a rerun reproduces the same batches.
        return ([.. work.OrderByDescending(w => w.Resend).ThenBy(w => w.Day.ApiKeyId, StringComparer.Ordinal).ThenBy(w => w.Day.Day)], elsewhere);
    }

    private Task CommitAsync(IEnumerable<Work> work, CancellationToken cancellationToken) =>
        ForEachAsync([.. work], (w, ct) => _ledger.TryCommitAsync(w.Day, w.Claim, ct), cancellationToken);

    private Task ForEachAsync(IReadOnlyCollection<Work> items, Func<Work, CancellationToken, Task<bool>> action, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(
            items,
            new ParallelOptions { MaxDegreeOfParallelism = _options.LedgerParallelism, CancellationToken = cancellationToken },
            async (item, ct) => await action(item, ct));

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
    private static DateTimeOffset StripeTimestamp(DateOnly day, DateTimeOffset now)
    {
        var lastSecond = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddDays(1).AddSeconds(-1);
        var at = now < lastSecond ? now : lastSecond;
        return DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());
    }

    private sealed record Work(UsageDay Day, UsageClaim Claim, bool Resend, bool Deferred);

    /// <summary>A key's counts on the two UTC days still open.</summary>
    private readonly record struct OpenDays(DateOnly TodayDate, long Yesterday, long Today)
    {
        public IEnumerable<(DateOnly Day, long Used)> Counted
        {
            get
            {
                if (Yesterday > 0)
                {
                    yield return (TodayDate.AddDays(-1), Yesterday);
                }

                if (Today > 0)
                {
                    yield return (TodayDate, Today);
                }
            }
        }
    }

    private sealed class StripeTotals
    {
        public int Skipped { get; set; }

        public int Sent { get; set; }

        public int Resent { get; set; }

        public long Units { get; set; }

        public int Requests { get; set; }

        public int ClaimedElsewhere { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage reported: Stripe {StripeUnits} units in {StripeEvents} events, {StripeSkipped} keys skipped; Marketplace {MarketplaceUnits} units in {MarketplaceRecords} records; {Failures} failures")]
    private static partial void LogSummary(ILogger logger, long stripeUnits, int stripeEvents, int stripeSkipped, long marketplaceUnits, int marketplaceRecords, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe did not accept a batch of {Count} meter events; their claims stay for the next run")]
    private static partial void LogStripeFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace did not accept {Count} usage records; their claims stay for the next run")]
    private static partial void LogMarketplaceFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A Marketplace claim of {Units} units of key {ApiKeyId} stamped {Timestamp:O} is past the six-hour window; written off")]
    private static partial void LogClaimWrittenOff(ILogger logger, long units, string apiKeyId, DateTimeOffset timestamp);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace answered CustomerNotSubscribed for {Quantity} units of key {ApiKeyId}; written off")]
    private static partial void LogNotSubscribed(ILogger logger, int quantity, string apiKeyId);
}
