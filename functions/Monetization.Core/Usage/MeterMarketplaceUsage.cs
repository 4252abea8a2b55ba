using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;

namespace Monetization.Core.Usage;

/// <summary>
/// Meters the Marketplace plan's usage with BatchMeterUsage for buyers known by AWS account + license: one hourly
/// record per buyer, claimed in the ledger before it is sent and committed once Marketplace answered for it. A buyer
/// whose license ARN fails Metering's pattern (<see cref="LicenseArns"/>) is not claimed and is counted instead. Buyers
/// with a CustomerIdentifier are left to API Gateway, which meters their keys itself through the usage plan's product
/// code, so nobody is metered twice. The hourly reporter meters every buyer, including those whose key is settling
/// (access ended, the key disabled but still in the plan), and before it claims anything takes the settled keys out of
/// the plan; the subscription-event flow also flushes one buyer whose subscription ends, inside the final hour
/// Marketplace still accepts their records.
/// </summary>
public sealed partial class MeterMarketplaceUsage
{
    /// <summary>Marketplace refuses records older than this.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromHours(6);

    private const int BatchSize = 25;

    private readonly UsageClaims _claims;
    private readonly KeySettlement _settlement;
    private readonly IUsageLedger _ledger;
    private readonly IMarketplaceMetering _metering;
    private readonly UsageReportingOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MeterMarketplaceUsage> _logger;

    public MeterMarketplaceUsage(
        IApiKeys apiKeys,
        IUsageLedger ledger,
        ISubscriberLedger subscribers,
        ApiKeyAccess access,
        IMarketplaceMetering metering,
        UsageReportingOptions options,
        TimeProvider time,
        ILogger<MeterMarketplaceUsage> logger)
    {
        ArgumentNullException.ThrowIfNull(apiKeys);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(subscribers);
        ArgumentNullException.ThrowIfNull(access);
        ArgumentNullException.ThrowIfNull(metering);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _claims = new UsageClaims(apiKeys, ledger, options.LedgerParallelism);
        _settlement = new KeySettlement(ledger, subscribers, access, _claims, options, time, logger);
        _ledger = ledger;
        _metering = metering;
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>Whether anything is sold on Marketplace (a Marketplace usage plan is configured).</summary>
    public bool Enabled => !string.IsNullOrEmpty(_options.MarketplaceUsagePlanId);

    /// <summary>Meters every buyer with usage on a day still open.</summary>
    public Task<MarketplaceUsageSummary> RunAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        MeterAsync(now, null, cancellationToken);

    /// <summary>
    /// Meters what one buyer's key counted up to now, for the subscription-event flow to call once the buyer's access
    /// ended: Marketplace takes the buyer's records for one more hour only. What this leaves (units of an hour already
    /// metered, units GetUsage shows later, a failure) is metered by the hourly runs while the key settles.
    /// </summary>
    public async Task<MarketplaceUsageSummary> FlushAsync(string apiKeyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKeyId);
        return Enabled ? await MeterAsync(_time.GetUtcNow(), apiKeyId, cancellationToken) : new MarketplaceUsageSummary();
    }

    private async Task<MarketplaceUsageSummary> MeterAsync(DateTimeOffset now, string? onlyKey, CancellationToken cancellationToken)
    {
        var planId = _options.MarketplaceUsagePlanId
            ?? throw new InvalidOperationException("Usage:MarketplaceUsagePlanId is not set: nothing is sold on Marketplace.");
        var productCode = _options.MarketplaceProductCode
            ?? throw new InvalidOperationException("Usage:MarketplaceProductCode is required with Usage:MarketplaceUsagePlanId.");
        var counted = await _claims.CountedDaysAsync(planId, now, onlyKey, cancellationToken);
        var totals = new Totals { KeysWithUsage = counted.Count };
        if (onlyKey is null)
        {
            // Settled keys leave the plan (Marketplace needs no last word); they take no part in the rest of the run.
            var (settled, deleted, settleFailures) = await _settlement.SettleAsync(
                planId, counted, now, s => !s.MeteredByApiGateway, (_, _) => Task.CompletedTask, cancellationToken);
            totals.KeysSettled = settled;
            totals.EndedKeysDeleted = deleted;
            totals.Failures += settleFailures;
        }

        foreach (var keys in counted.Keys.Chunk(_options.KeysPerChunk))
        {
            await MeterChunkAsync(counted, keys, now, productCode, totals, cancellationToken);
        }

        return new MarketplaceUsageSummary
        {
            KeysWithUsage = totals.KeysWithUsage,
            KeysMeteredByApiGateway = totals.ByApiGateway,
            KeysSkipped = totals.Skipped,
            BuyersUnmeterable = totals.Unmeterable,
            KeysDeferred = totals.Deferred,
            RecordsSent = totals.Sent,
            UnitsReported = totals.Units,
            NotSubscribed = totals.NotSubscribed,
            UnitsWrittenOff = totals.WrittenOff,
            Requests = totals.Requests,
            KeysSettled = totals.KeysSettled,
            EndedKeysDeleted = totals.EndedKeysDeleted,
            DaysClaimedElsewhere = totals.ClaimedElsewhere,
            Failures = totals.Failures,
        };
    }

    private async Task MeterChunkAsync(
        Dictionary<string, OpenDays> counted,
        string[] keys,
        DateTimeOffset now,
        string productCode,
        Totals totals,
        CancellationToken cancellationToken)
    {
        var subscribers = await _ledger.FindSubscribersByApiKeyAsync(keys, cancellationToken);
        var buyers = new Dictionary<string, Subscriber>(StringComparer.Ordinal);
        foreach (var keyId in keys)
        {
            // A buyer whose subscription ended is still metered: what their key used before access ended is owed, and
            // Marketplace itself answers CustomerNotSubscribed once the final hour is over.
            if (!subscribers.TryGetValue(keyId, out var subscriber) || subscriber.Channel != Channel.Marketplace
                || subscriber.MergedInto is not null || subscriber.Status == SubscriberStatus.Pending)
            {
                totals.Skipped++;
            }
            else if (subscriber.MeteredByApiGateway)
            {
                totals.ByApiGateway++;
            }
            else if (subscriber.CustomerAwsAccountId is { Length: > 0 } && LicenseArns.IsMeterable(subscriber.LicenseArn))
            {
                buyers[keyId] = subscriber;
            }
            else if (subscriber is { CustomerAwsAccountId: { Length: > 0 }, LicenseArn: { Length: > 0 } })
            {
                // One such record would fail the whole batch. Nothing is claimed, so the units stay above the watermark
                // and the first run after a license ARN Metering takes arrives meters them.
                totals.Unmeterable++;
                LogUnmeterable(_logger, keyId, subscriber.Id);
            }
            else
            {
                totals.Skipped++;
            }
        }

        // Marketplace deduplicates on customer, dimension and hour: a second record in an hour already metered for the
        // buyer (by any of their keys: a rotation leaves two for a while) would be refused, so new units wait for the
        // next hour.
        var hour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        var (work, claimedElsewhere) = await _claims.ClaimAsync(
            counted, buyers.Keys, _ => hour, w => w.LastReportedAt == hour, key => buyers[key].Id, cancellationToken);
        totals.ClaimedElsewhere += claimedElsewhere;
        totals.Deferred += work.Count(w => w.Deferred);
        work = [.. work.Where(w => !w.Deferred)];

        // One record per buyer and hour: the claims of the buyer's keys and days stamped with that hour add up.
        var records = work
            .Where(w => w.Claim.Timestamp >= now - Window)
            .GroupBy(w => (buyers[w.Day.ApiKeyId].Id, w.Claim.Timestamp))
            .Select(g => (Claims: g.ToList(), Buyer: buyers[g.First().Day.ApiKeyId]))
            .Select(g => (g.Claims, Record: new MeteringRecord(
                g.Claims[0].Claim.Timestamp, null, g.Buyer.CustomerAwsAccountId, g.Buyer.LicenseArn, _options.MarketplaceDimension, checked((int)g.Claims.Sum(w => w.Claim.Units)))))
            .ToList();

        // A claim older than the window can no longer be sent, and whether Marketplace took it before the run that made
        // it died is unknown; billing a buyer twice is worse than missing units, so it is written off.
        var expired = work.Where(w => w.Claim.Timestamp < now - Window).ToList();
        await _claims.CommitAsync(expired, cancellationToken);
        foreach (var claim in expired)
        {
            totals.WrittenOff += claim.Claim.Units;
            LogClaimWrittenOff(_logger, claim.Claim.Units, claim.Day.ApiKeyId, claim.Claim.Timestamp);
        }

        var byRecord = records.ToDictionary(r => r.Record, r => r.Claims);
        var reachable = true;
        foreach (var chunk in records.Chunk(BatchSize))
        {
            var pending = chunk.Select(c => c.Record).ToList();
            for (var attempt = 0; reachable && pending.Count > 0 && attempt <= _options.UnprocessedRetries; attempt++)
            {
                totals.Requests++;
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
                            await _claims.CommitAsync(claims, cancellationToken);
                            totals.Sent++;
                            totals.Units += result.Record.Quantity;
                            break;
                        case MeteringRecordStatus.CustomerNotSubscribed:
                            // Marketplace will never bill these units; recording them stops endless retries.
                            await _claims.CommitAsync(claims, cancellationToken);
                            totals.NotSubscribed++;
                            LogNotSubscribed(_logger, result.Record.Quantity, claims[0].Day.ApiKeyId);
                            break;
                        case MeteringRecordStatus.DuplicateRecord:
                            // The hour was metered with another quantity: send the units again next hour.
                            await _claims.ReleaseAsync(claims, cancellationToken);
                            totals.Failures++;
                            break;
                        default:
                            next.Add(result.Record);
                            break;
                    }
                }

                pending = next;
            }

            totals.Failures += pending.Count;
        }
    }

    /// <summary>What the run has done so far, added up over the settle step and the chunks.</summary>
    private sealed class Totals
    {
        public int KeysWithUsage { get; init; }

        public int ByApiGateway { get; set; }

        public int Skipped { get; set; }

        public int Unmeterable { get; set; }

        public int Deferred { get; set; }

        public int Sent { get; set; }

        public long Units { get; set; }

        public int NotSubscribed { get; set; }

        public long WrittenOff { get; set; }

        public int Requests { get; set; }

        public int KeysSettled { get; set; }

        public int EndedKeysDeleted { get; set; }

        public int ClaimedElsewhere { get; set; }

        public int Failures { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace did not accept {Count} usage records; their claims stay for the next run")]
    private static partial void LogMarketplaceFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A Marketplace claim of {Units} units of key {ApiKeyId} stamped {Timestamp:O} is past the six-hour window; written off")]
    private static partial void LogClaimWrittenOff(ILogger logger, long units, string apiKeyId, DateTimeOffset timestamp);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {ApiKeyId} of Marketplace buyer {SubscriberId} is not metered: its license ARN is not in the shape BatchMeterUsage accepts; the usage waits for ResolveCustomer or a license event to give one")]
    private static partial void LogUnmeterable(ILogger logger, string apiKeyId, string subscriberId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace answered CustomerNotSubscribed for {Quantity} units of key {ApiKeyId}; written off")]
    private static partial void LogNotSubscribed(ILogger logger, int quantity, string apiKeyId);
}
