using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Usage;

/// <summary>
/// The end of a subscriber's access, after the flows disabled the key: the key stays in its usage plan, where API
/// Gateway keeps reporting what it counted (GetUsage lags, and a disabled key takes a moment to stop serving), and the
/// usage reports bill it like any other. Once the settle window has passed and a report finds nothing of the key left
/// to bill, the key has settled: it leaves the plan and the ledger stops calling it settling.
/// </summary>
internal sealed partial class KeySettlement(
    IUsageLedger usage, ISubscriberLedger ledger, ApiKeyAccess access, UsageClaims claims, TimeSpan window, TimeProvider time, ILogger logger)
{
    /// <summary>
    /// Finishes every key of the plan that has settled: <paramref name="beforeLeaving"/> (the channel's last word with
    /// its provider), then <see cref="FinishAsync"/>. A finished key leaves <paramref name="counted"/>, so the rest of the
    /// run does not touch it; one that fails stays settling for the next run.
    /// </summary>
    /// <param name="billedHere">
    /// Whether this run bills the subscriber's units; one billed by someone else (API Gateway meters legacy Marketplace
    /// buyers itself) has settled once the window has passed.
    /// </param>
    /// <returns>How many keys were finished, and how many failed.</returns>
    public async Task<(int Settled, int Failures)> SettleAsync(
        string usagePlanId,
        Dictionary<string, OpenDays> counted,
        DateTimeOffset now,
        Func<Subscriber, bool> billedHere,
        Func<Subscriber, CancellationToken, Task> beforeLeaving,
        CancellationToken cancellationToken)
    {
        int settledKeys = 0, failures = 0;
        foreach (var settled in await SettledAsync(usagePlanId, counted, now, billedHere, cancellationToken))
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

        return (settledKeys, failures);
    }

    /// <summary>
    /// The plan's subscribers whose key began settling a window ago or longer and has nothing left to bill: every unit
    /// counted on the open days is committed and nothing is in flight. A report finds them before it claims anything, so
    /// what it sent last reached the provider a run ago.
    /// </summary>
    private async Task<IReadOnlyList<Subscriber>> SettledAsync(
        string usagePlanId, Dictionary<string, OpenDays> counted, DateTimeOffset now, Func<Subscriber, bool> billedHere, CancellationToken cancellationToken)
    {
        var due = (await usage.FindSettlingAsync(usagePlanId, now - window, cancellationToken))
            .Where(s => s is { Subscribed: false, ApiKeyId: not null })
            .ToList();
        if (due.Count == 0)
        {
            return due;
        }

        var unbilled = await claims.UnbilledAsync(counted, due.Where(billedHere).Select(s => s.ApiKeyId!), cancellationToken);
        return [.. due.Where(s => !unbilled.Contains(s.ApiKeyId!))];
    }

    /// <summary>
    /// The last step: the settled key leaves its plan, then the record, read afresh (the index lags), drops its settling
    /// mark. A subscriber granted access again meanwhile (the record says subscribed) gets the key back in its plan, so
    /// the race costs nobody their access.
    /// </summary>
    private async Task FinishAsync(Subscriber settled, CancellationToken cancellationToken)
    {
        var keyId = settled.ApiKeyId ?? throw new ArgumentException("A settling subscriber holds a key.", nameof(settled));
        var planId = settled.UsagePlanId ?? throw new ArgumentException("A settling subscriber names its plan.", nameof(settled));
        await access.LeavePlanAsync(keyId, planId, cancellationToken);
        var update = await ledger.UpdateAsync(
            settled.Id,
            current => current is { SettlingSince: not null } && current.ApiKeyId == keyId
                ? LedgerChange<bool>.Write(current with { SettlingSince = null, UpdatedAt = time.GetUtcNow() }, current.Subscribed)
                : LedgerChange<bool>.Keep(current is { Subscribed: true } && current.ApiKeyId == keyId),
            known: null,
            cancellationToken);
        if (update.Result)
        {
            await access.GrantAsync(keyId, enabled: null, update.Stored?.UsagePlanId ?? planId, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Key {ApiKeyId} has settled but could not leave its plan yet; the next run tries again")]
    private static partial void LogSettleFailed(ILogger logger, string apiKeyId, Exception exception);
}
