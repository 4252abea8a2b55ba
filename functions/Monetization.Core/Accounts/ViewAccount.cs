using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Core.Accounts;

/// <param name="Hint">The last characters of the value, once it has been shown.</param>
/// <param name="ValueOnce">The value, on the one view that shows it; null on every other.</param>
public sealed record AccountKey(string Id, bool Works, string? Hint, Secret? ValueOnce);

/// <param name="Usage">This month's use; null when it could not be read (the page still shows everything else).</param>
/// <param name="FreePlanOpen">Whether the subscriber may start the free plan from here (<see cref="StartFreePlan"/>).</param>
/// <param name="Spend">A paying subscriber's charge this billing period and their cap; null for others, or when it could not be read.</param>
/// <param name="CapStopped">Whether the spend cap holds the key stopped now.</param>
public sealed record AccountView(Subscriber Record, AccountKey? Key, AccountUsage? Usage, bool FreePlanOpen = false, SpendEstimate? Spend = null, bool CapStopped = false);

/// <summary>
/// A subscriber's use this month, every key they hold added up: per UTC day what the usage reporter recorded as billed
/// (its watermarks, as of its last hourly run), plus what API Gateway counted today above that.
/// </summary>
/// <param name="QuotaLeft">The current key's quota left in its plan's period; null when its plan counts nothing of it today.</param>
/// <param name="LiveRead">Whether API Gateway answered today's counts; when not, the days are as recorded only.</param>
public sealed record AccountUsage(IReadOnlyList<DayUse> Days, long? QuotaLeft, bool LiveRead)
{
    public static readonly AccountUsage None = new([], null, LiveRead: true);

    public long Total => Days.Sum(d => d.Used);
}

/// <summary>One UTC day's requests.</summary>
public sealed record DayUse(DateOnly Day, long Used);

/// <summary>
/// What the account page shows a signed-in subscriber: the record, the key (its value the one time
/// <see cref="KeyReveal"/> shows it, once the key works), and this month's usage.
/// </summary>
public sealed class ViewAccount(
    ISubscriberLedger ledger,
    IUsageLedger usage,
    ApiKeyAccess access,
    KeyReveal reveal,
    RequestKey keys,
    SpendCaps caps,
    StripeChannelOptions channel,
    TimeProvider clock)
{
    public async Task<AccountView?> ViewAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        var record = await ledger.GetAsync(subscriberId, cancellationToken);
        if (record is null)
        {
            return null;
        }

        if (record.ApiKeyId is not { } keyId)
        {
            // Access started and the key is being made: a request the queue lost is asked again from here too.
            return new AccountView(
                record.AwaitsKey ? await keys.EnsureRequestedAsync(record, cancellationToken) : record,
                null,
                AccountUsage.None,
                channel.OffersFreePlan && record.MayStartFreePlan);
        }

        var now = clock.GetUtcNow();
        var monthUse = UsageAsync(record, keyId, DateOnly.FromDateTime(now.UtcDateTime), cancellationToken);
        var spend = OrNullAsync(caps.EstimateAsync(record, cancellationToken));
        Secret? valueOnce = null;

        // Shown once it works: a key minted by a grant that failed half-way waits for the grant to be finished. A
        // Marketplace buyer's key is shown while Marketplace has yet to confirm the subscription: it works as soon as
        // Marketplace does, with nothing more for the buyer to do.
        if (Works(record, now) || record is { Channel: Channel.Marketplace, Status: SubscriberStatus.Pending })
        {
            (record, valueOnce) = await reveal.ShowOnceAsync(record, cancellationToken);
        }

        return new AccountView(
            record,
            new AccountKey(keyId, Works(record, now), record.ApiKeyHint, valueOnce),
            await OrNullAsync(monthUse),
            Spend: await spend,
            CapStopped: record.CapStopped(now));
    }

    /// <summary>
    /// This month's use of every key the subscriber holds (the current one and those a rotation retired, which bill
    /// here too, at most <see cref="Subscriber.MaxRetiredKeys"/>, and the retired keys deleted this month): the days as
    /// the usage reporter recorded them, one read of the ledger, plus what each key still held counted today above its
    /// watermark, one GetUsage call a key for today only
    /// (API Gateway's control plane is shared by the whole account). A buyer API Gateway meters itself has nothing
    /// recorded, so their month is read live. A live read that fails leaves what was recorded.
    /// </summary>
    private async Task<AccountUsage?> UsageAsync(Subscriber record, string keyId, DateOnly today, CancellationToken cancellationToken)
    {
        var monthStart = new DateOnly(today.Year, today.Month, 1);
        var liveFrom = record.MeteredByApiGateway ? monthStart : today;
        var planId = record.UsagePlanId ?? channel.StripeUsagePlanId;
        var keys = record.RetiredKeys.Select(k => k.Id).Prepend(keyId).ToList();
        var live = keys.ToDictionary(id => id, id => LiveAsync(id, planId, liveFrom, today, cancellationToken));
        var days = Enumerable.Range(0, today.DayNumber - monthStart.DayNumber + 1).Select(monthStart.AddDays).ToList();
        var recorded = record.MeteredByApiGateway
            ? []
            : await usage.GetWatermarksAsync([.. keys.Concat(record.DeletedKeys.Select(k => k.Id)).SelectMany(id => days.Select(day => new UsageDay(id, day)))], cancellationToken);
        var used = days.ToDictionary(day => day, day => recorded.Where(w => w.Day.Day == day).Sum(w => w.Reported));
        foreach (var (id, read) in live)
        {
            foreach (var day in await read ?? [])
            {
                // A live count includes what was recorded of it (the watermark trails the count).
                var billed = recorded.FirstOrDefault(w => w.Day.Day == day.Day && w.Day.ApiKeyId == id)?.Reported ?? 0;
                used[day.Day] = used.GetValueOrDefault(day.Day) + Math.Max(0, day.Used - billed);
            }
        }

        var current = await live[keyId];
        return new AccountUsage(
            [.. used.Where(d => d.Value > 0).OrderBy(d => d.Key).Select(d => new DayUse(d.Key, d.Value))],
            current?.Where(d => d.Day == today).Select(d => (long?)d.Remaining).FirstOrDefault(),
            LiveRead: live.Values.All(t => t.Result is not null));
    }

    private async Task<IReadOnlyList<DailyUsage>?> LiveAsync(string keyId, string planId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        try
        {
            return await access.UsageAsync(keyId, planId, from, to, cancellationToken);
        }
        catch (DependencyUnavailableException)
        {
            return null;
        }
    }

    private static bool Works(Subscriber record, DateTimeOffset now) =>
        record.Subscribed && record.SettlingSince is null && record.EndRequestedAt is null && !record.CapStopped(now);

    private static async Task<T?> OrNullAsync<T>(Task<T?> read)
        where T : class
    {
        try
        {
            return await read;
        }
        catch (DependencyUnavailableException)
        {
            return null;
        }
    }
}
