using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Usage;

/// <summary>
/// The end of a subscriber's access, after the flows disabled the key: the key stays in its usage plan, where API
/// Gateway keeps reporting what it counted (GetUsage lags, and a disabled key takes a moment to stop serving), and the
/// usage reports bill it like any other. Once the settle window has passed and a report finds nothing of the key left
/// to bill, the key has settled: it leaves the plan and the ledger stops calling it settling. A settled key is kept for
/// the retention (a subscriber who comes back gets it back), then deleted, so ended subscriptions do not fill the
/// account's 10,000 keys. Keys a rotation retired take the same path on their own: disabled when their overlap ends,
/// deleted once settled. Deletions, like every API Gateway call, wait their turn at the account's control-plane budget.
/// </summary>
internal sealed partial class KeySettlement(
    IUsageLedger usage,
    ISubscriberLedger ledger,
    ApiKeyAccess access,
    UsageClaims claims,
    UsageReportingOptions options,
    TimeProvider time,
    ILogger logger)
{
    /// <summary>
    /// Finishes every key of the plan that has settled: a subscriber's key after access ended gets
    /// <paramref name="beforeLeaving"/> (the channel's last word with its provider), then <see cref="FinishAsync"/>; a
    /// retired key whose revocation is due is disabled, and one that has settled is deleted (<see cref="RetireAsync"/>);
    /// an ended subscription's key whose retention is over is deleted (<see cref="DeleteEndedAsync"/>), at most
    /// <see cref="UsageReportingOptions.EndedKeysPerRun"/> a run.
    /// A finished key leaves <paramref name="counted"/>, so the rest of the run does not touch it; one that fails stays
    /// for the next run. A report finds them before it claims anything, so what it sent last reached the provider a run
    /// ago.
    /// </summary>
    /// <param name="billedHere">
    /// Whether this run bills the subscriber's units; one billed by someone else (API Gateway meters legacy Marketplace
    /// buyers itself) has settled once the window has passed.
    /// </param>
    /// <returns>How many keys were finished, how many ended keys were deleted, and how many failed.</returns>
    public async Task<(int Settled, int Deleted, int Failures)> SettleAsync(
        string usagePlanId,
        Dictionary<string, OpenDays> counted,
        DateTimeOffset now,
        Func<Subscriber, bool> billedHere,
        Func<Subscriber, CancellationToken, Task> beforeLeaving,
        CancellationToken cancellationToken)
    {
        var due = await usage.FindSettlingAsync(usagePlanId, now, cancellationToken);
        if (due.Count == 0)
        {
            return (0, 0, 0);
        }

        // Settled: disabled a window ago or longer, every unit counted on the open days committed, nothing in flight.
        var settledBy = now - options.SettleWindow;
        var ended = due.Where(s => s is { Subscribed: false, ApiKeyId: not null, SettlingSince: { } since } && since <= settledBy).ToList();
        var candidates = ended.Where(billedHere).Select(s => s.ApiKeyId!)
            .Concat(due.Where(billedHere).SelectMany(s => s.RetiredKeys).Where(k => k.DisabledAt <= settledBy).Select(k => k.Id));
        var unbilled = await claims.UnbilledAsync(counted, candidates, cancellationToken);

        int settledKeys = 0, failures = 0;
        foreach (var settled in ended.Where(s => !unbilled.Contains(s.ApiKeyId!)))
        {
            try
            {
                await beforeLeaving(settled, cancellationToken);
                await FinishAsync(settled, cancellationToken);
                counted.Remove(settled.ApiKeyId!);
                settledKeys++;
            }
            catch (DependencyUnavailableException e)
            {
                failures++;
                LogSettleFailed(logger, settled.ApiKeyId!, e);
            }
        }

        foreach (var holder in due.Where(s => s.RetiredKeys.Count > 0))
        {
            try
            {
                var deleted = await RetireAsync(holder, now, settledBy, unbilled, cancellationToken);
                foreach (var keyId in deleted)
                {
                    counted.Remove(keyId);
                }

                settledKeys += deleted.Count;
            }
            catch (DependencyUnavailableException e)
            {
                failures++;
                LogSettleFailed(logger, holder.RetiredKeys[0].Id, e);
            }
        }

        var deletedKeys = 0;
        foreach (var expired in due.Where(s => s.KeyDeletableBy(now)).Take(options.EndedKeysPerRun))
        {
            try
            {
                if (await DeleteEndedAsync(expired, now, cancellationToken))
                {
                    counted.Remove(expired.ApiKeyId!);
                    deletedKeys++;
                }
            }
            catch (DependencyUnavailableException e)
            {
                failures++;
                LogSettleFailed(logger, expired.ApiKeyId!, e);
            }
        }

        return (settledKeys, deletedKeys, failures);
    }

    /// <summary>
    /// Deletes the key of a subscription that ended a retention ago, its usage long billed (it settled before the
    /// retention began), if the record, read afresh (the index lags), still says so; then the record forgets the key,
    /// so a subscriber who comes back gets a new one. A grant that races the deletion finds its key gone and, retried,
    /// mints a new one.
    /// </summary>
    /// <returns>Whether the key was deleted (false: the subscriber came back, or another run got there first).</returns>
    private async Task<bool> DeleteEndedAsync(Subscriber ended, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var current = await ledger.GetAsync(ended.Id, cancellationToken);
        if (current is null || !current.KeyDeletableBy(now) || current.ApiKeyId != ended.ApiKeyId)
        {
            return false;
        }

        var keyId = current.ApiKeyId!;
        await access.DeleteSettledAsync(current.Id, keyId, cancellationToken);
        await ledger.UpdateAsync(
            current.Id,
            record => record is not null && record.KeyDeletableBy(now) && record.ApiKeyId == keyId
                ? record with { ApiKeyId = null, ShownApiKeyId = null, ApiKeyHint = null, KeyDeleteAt = null, UpdatedAt = now }
                : null,
            new KnownRecord(current),
            cancellationToken);
        return true;
    }

    /// <summary>
    /// A subscriber's retired keys, each a step further: one whose overlap is over, or whose subscriber's access ended,
    /// is disabled (it stays in the plan, billing what it served); one disabled a window ago or longer with nothing left
    /// to bill is deleted, which takes it out of its plan and frees its place among the account's keys. The record then
    /// says when each was disabled and moves the deleted ones to its deleted keys (the account page's month adds them).
    /// </summary>
    /// <returns>The keys deleted.</returns>
    private async Task<IReadOnlyCollection<string>> RetireAsync(
        Subscriber holder, DateTimeOffset now, DateTimeOffset settledBy, HashSet<string> unbilled, CancellationToken cancellationToken)
    {
        var disabling = holder.RetiredKeys.Where(k => k.DisabledAt is null && (k.RevokeAt <= now || !holder.Subscribed)).Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
        var deleting = holder.RetiredKeys.Where(k => k.DisabledAt <= settledBy && !unbilled.Contains(k.Id)).Select(k => k.Id).ToHashSet(StringComparer.Ordinal);
        if (disabling.Count == 0 && deleting.Count == 0)
        {
            return deleting;
        }

        await Task.WhenAll([
            .. disabling.Select(id => access.DisableAsync(id, enabled: null, cancellationToken)),
            .. deleting.Select(id => access.DeleteSettledAsync(holder.Id, id, cancellationToken))]);
        await ledger.UpdateAsync(
            holder.Id,
            current => current is null ? null : current with
            {
                RetiredKeys = [.. current.RetiredKeys
                    .Where(k => !deleting.Contains(k.Id))
                    .Select(k => k.DisabledAt is null && disabling.Contains(k.Id) ? k with { DisabledAt = now } : k)],
                DeletedKeys = current.DeletedKeysWith(current.RetiredKeys.Select(k => k.Id).Where(deleting.Contains), now),
                UpdatedAt = now,
            },
            known: null,
            cancellationToken);
        return deleting;
    }

    /// <summary>
    /// The last step of the ending: the settled key leaves its plan, then the record, read afresh (the index lags), drops
    /// its settling mark and says when the key may be deleted. A subscriber granted access again meanwhile (the record
    /// says subscribed) gets the key back in its plan, so the race costs nobody their access.
    /// </summary>
    private async Task FinishAsync(Subscriber settled, CancellationToken cancellationToken)
    {
        var keyId = settled.ApiKeyId ?? throw new ArgumentException("A settling subscriber holds a key.", nameof(settled));
        var planId = settled.UsagePlanId ?? throw new ArgumentException("A settling subscriber names its plan.", nameof(settled));
        await access.LeavePlanAsync(keyId, planId, cancellationToken);
        var update = await ledger.UpdateAsync(
            settled.Id,
            current => current is { SettlingSince: not null } && current.ApiKeyId == keyId
                ? LedgerChange<bool>.Write(current with { SettlingSince = null, KeyDeleteAt = Retained(current), UpdatedAt = time.GetUtcNow() }, current.Subscribed)
                : LedgerChange<bool>.Keep(current is { Subscribed: true } && current.ApiKeyId == keyId),
            known: null,
            cancellationToken);
        if (update.Result)
        {
            await access.GrantAsync(keyId, enabled: null, update.Stored?.UsagePlanId ?? planId, cancellationToken);
        }
    }

    /// <summary>
    /// When a key that settled now may be deleted: a retention from now, or sooner when the ending asked for sooner (an
    /// unused free key has nothing to come back to); never while access is granted again.
    /// </summary>
    private DateTimeOffset? Retained(Subscriber settled)
    {
        var retained = time.GetUtcNow() + options.EndedKeyRetention;
        return settled.Subscribed ? null : settled.KeyDeleteAt is { } asked && asked < retained ? asked : retained;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {ApiKeyId} could not take its next step yet (leave its plan, stop, or be deleted); the next run tries again")]
    private static partial void LogSettleFailed(ILogger logger, string apiKeyId, Exception exception);
}
