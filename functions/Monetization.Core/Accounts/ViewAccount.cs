using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Accounts;

/// <param name="Hint">The last characters of the value, once it has been shown.</param>
/// <param name="ValueOnce">The value, on the one view that shows it; null on every other.</param>
public sealed record AccountKey(string Id, bool Works, string? Hint, Secret? ValueOnce);

/// <param name="Usage">
/// This month's use per day, as API Gateway counted it (today's count included); empty without a key, null when API
/// Gateway did not answer (the page still shows everything else).
/// </param>
public sealed record AccountView(Subscriber Record, AccountKey? Key, IReadOnlyList<DailyUsage>? Usage);

/// <summary>
/// What the account page shows a signed-in subscriber. A key's value is shown once: the first view after the key was
/// minted reads it from API Gateway and records, in a conditional write, that it was shown; of two views racing only
/// the one whose write wins shows it. The value is never stored; afterwards the page names the key by its last
/// characters.
/// </summary>
public sealed class ViewAccount(ISubscriberLedger ledger, ApiKeyAccess access, StripeChannelOptions channel, TimeProvider clock)
{
    public const int HintLength = 4;

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
            return new AccountView(record, null, []);
        }

        var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
        var usage = UsageAsync(record, keyId, new DateOnly(today.Year, today.Month, 1), today, cancellationToken);
        Secret? valueOnce = null;

        // Shown once it works: a key minted by a grant that failed half-way waits for the grant to be finished.
        if (Works(record) && !string.Equals(record.ShownApiKeyId, keyId, StringComparison.Ordinal) && await access.ReadValueAsync(keyId, cancellationToken) is { } value)
        {
            var hint = value.Reveal()[^Math.Min(HintLength, value.Reveal().Length)..];
            var update = await ledger.UpdateAsync(
                record.Id,
                current => current is not null && string.Equals(current.ApiKeyId, keyId, StringComparison.Ordinal) && !string.Equals(current.ShownApiKeyId, keyId, StringComparison.Ordinal)
                    ? current with { ShownApiKeyId = keyId, ApiKeyHint = hint, UpdatedAt = clock.GetUtcNow() }
                    : null,
                new KnownRecord(record),
                cancellationToken);
            record = update.Stored ?? record;
            valueOnce = update.Written ? value : null;
        }

        return new AccountView(record, new AccountKey(keyId, Works(record), record.ApiKeyHint, valueOnce), await UsageOrNullAsync(usage));
    }

    /// <summary>
    /// Every key's use per day, added up: the subscriber's key and the keys a rotation retired (each bills here). The
    /// quota left is the current key's.
    /// </summary>
    private async Task<IReadOnlyList<DailyUsage>> UsageAsync(Subscriber record, string keyId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var planId = record.UsagePlanId ?? channel.StripeUsagePlanId;
        var current = access.UsageAsync(keyId, planId, from, to, cancellationToken);
        var retired = await Task.WhenAll(record.RetiredKeys.Select(k => access.UsageAsync(k.Id, planId, from, to, cancellationToken)));
        var days = (await current).ToDictionary(d => d.Day);
        foreach (var day in retired.SelectMany(d => d))
        {
            days[day.Day] = days.TryGetValue(day.Day, out var known) ? known with { Used = known.Used + day.Used } : day with { Remaining = 0 };
        }

        return [.. days.Values.OrderBy(d => d.Day)];
    }

    private static bool Works(Subscriber record) => record.Subscribed && record.SettlingSince is null && record.EndRequestedAt is null;

    private static async Task<IReadOnlyList<DailyUsage>?> UsageOrNullAsync(Task<IReadOnlyList<DailyUsage>> usage)
    {
        try
        {
            return await usage;
        }
        catch (DependencyUnavailableException)
        {
            return null;
        }
    }
}
