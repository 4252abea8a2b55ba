using System.Collections.Concurrent;
using Monetization.Core.ApiKeys;

namespace Monetization.Core.Usage;

/// <summary>
/// The exactly-once half both billing channels share: what API Gateway counted on the UTC days still open, and the
/// ledger claims that stand between a count and a send. Stripe reporting and Marketplace metering differ only in what
/// they send and how the provider answers.
/// </summary>
internal sealed class UsageClaims(IApiKeys apiKeys, IUsageLedger ledger, int ledgerParallelism)
{
    /// <summary>
    /// Keys of <paramref name="usagePlanId"/> with a non-zero count yesterday or today (a struct each: there may be many
    /// keys); only <paramref name="keyId"/> when given.
    /// </summary>
    public async Task<Dictionary<string, OpenDays>> CountedDaysAsync(string usagePlanId, DateTimeOffset now, string? keyId, CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var usage = await apiKeys.GetUsageAsync(usagePlanId, today.AddDays(-1), today, keyId, cancellationToken);
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
    /// watermark. A day with a claim in flight gets no second one in the same call; the caller claims its newer units
    /// once the resend is committed. A key whose group (<paramref name="groupOf"/>: the keys one buyer holds)
    /// <paramref name="deferOf"/> picks, by any watermark of any of its keys, gets no new claim at all: its new units
    /// come back marked deferred.
    /// </summary>
    /// <returns>Resends first, then new claims, in a stable order, so a rerun reproduces the same batches.</returns>
    public async Task<(List<UsageWork> Work, int ClaimedElsewhere)> ClaimAsync(
        Dictionary<string, OpenDays> counted,
        IEnumerable<string> keys,
        Func<UsageDay, DateTimeOffset> timestampOf,
        Func<UsageWatermark, bool> deferOf,
        Func<string, string> groupOf,
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

        var watermarks = await ledger.GetWatermarksAsync([.. usedOf.Keys], cancellationToken);
        var deferredGroups = watermarks.Where(deferOf).Select(w => groupOf(w.Day.ApiKeyId)).ToHashSet(StringComparer.Ordinal);
        var work = new ConcurrentBag<UsageWork>();
        var candidates = new List<UsageWork>();
        foreach (var watermark in watermarks)
        {
            if (watermark.Pending is { } pending)
            {
                work.Add(new UsageWork(watermark.Day, pending, Resend: true, Deferred: false));
            }
            else if (usedOf[watermark.Day] > watermark.Reported)
            {
                var claim = new UsageClaim(watermark.Reported, usedOf[watermark.Day], timestampOf(watermark.Day));
                if (deferredGroups.Contains(groupOf(watermark.Day.ApiKeyId)))
                {
                    work.Add(new UsageWork(watermark.Day, claim, Resend: false, Deferred: true));
                }
                else
                {
                    candidates.Add(new UsageWork(watermark.Day, claim, Resend: false, Deferred: false));
                }
            }
        }

        var elsewhere = 0;
        await ForEachAsync(
            candidates,
            async (candidate, ct) =>
            {
                if (await ledger.TryClaimAsync(candidate.Day, candidate.Claim, ct))
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

        return ([.. work.OrderByDescending(w => w.Resend).ThenBy(w => w.Day.ApiKeyId, StringComparer.Ordinal).ThenBy(w => w.Day.Day)], elsewhere);
    }

    /// <summary>The keys among <paramref name="keys"/> with units counted above their watermark, or a claim in flight.</summary>
    public async Task<HashSet<string>> UnbilledAsync(Dictionary<string, OpenDays> counted, IEnumerable<string> keys, CancellationToken cancellationToken)
    {
        var usedOf = new Dictionary<UsageDay, long>();
        foreach (var key in keys.Where(counted.ContainsKey))
        {
            foreach (var (day, used) in counted[key].Counted)
            {
                usedOf[new UsageDay(key, day)] = used;
            }
        }

        var unbilled = new HashSet<string>(StringComparer.Ordinal);
        if (usedOf.Count > 0)
        {
            foreach (var watermark in await ledger.GetWatermarksAsync([.. usedOf.Keys], cancellationToken))
            {
                if (watermark.Pending is not null || watermark.Reported < usedOf[watermark.Day])
                {
                    unbilled.Add(watermark.Day.ApiKeyId);
                }
            }
        }

        return unbilled;
    }

    /// <summary>Moves each day's watermark to its claim: the provider accepted it (or will never bill it).</summary>
    public Task CommitAsync(IEnumerable<UsageWork> work, CancellationToken cancellationToken) =>
        ForEachAsync([.. work], (w, ct) => ledger.TryCommitAsync(w.Day, w.Claim, ct), cancellationToken);

    /// <summary>Drops each claim without moving the watermark: its units are claimed again next run.</summary>
    public Task ReleaseAsync(IEnumerable<UsageWork> work, CancellationToken cancellationToken) =>
        ForEachAsync([.. work], (w, ct) => ledger.TryReleaseAsync(w.Day, w.Claim, ct), cancellationToken);

    private Task ForEachAsync(IReadOnlyCollection<UsageWork> items, Func<UsageWork, CancellationToken, Task<bool>> action, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(
            items,
            new ParallelOptions { MaxDegreeOfParallelism = ledgerParallelism, CancellationToken = cancellationToken },
            async (item, ct) => await action(item, ct));
}

/// <summary>One day's claim to send; <see cref="Resend"/> when a crashed or failed run left it in flight.</summary>
internal sealed record UsageWork(UsageDay Day, UsageClaim Claim, bool Resend, bool Deferred);

/// <summary>A key's counts on the two UTC days still open.</summary>
internal readonly record struct OpenDays(DateOnly TodayDate, long Yesterday, long Today)
{
    public long UsedOn(DateOnly day) => day == TodayDate ? Today : day == TodayDate.AddDays(-1) ? Yesterday : 0;

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
