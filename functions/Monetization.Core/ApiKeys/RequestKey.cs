using Monetization.Core.Ledger;

namespace Monetization.Core.ApiKeys;

/// <summary>
/// Asks the key minting queue for the first key of a subscriber whose access has started, and notes when on the
/// record. Asked again only after <see cref="ResendAfter"/>, so the grants that follow one another as access starts
/// (the return from checkout, its webhooks) send one request, and a request lost with its queue is sent again by the
/// next of them or by the account page.
/// </summary>
public sealed class RequestKey(ISubscriberLedger ledger, IKeyMintQueue queue, TimeProvider clock)
{
    public static readonly TimeSpan ResendAfter = TimeSpan.FromMinutes(1);

    /// <returns>The record as stored afterwards.</returns>
    public async Task<Subscriber> EnsureRequestedAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var now = clock.GetUtcNow();
        if (!record.AwaitsKey || (record.KeyRequestedAt is { } asked && now - asked < ResendAfter))
        {
            return record;
        }

        // Sent first, noted after: a request that never reached the queue is never taken for one that did.
        await queue.RequestAsync(new KeyMintRequest(record.Id, now), cancellationToken);
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is { AwaitsKey: true } ? current with { KeyRequestedAt = now, UpdatedAt = now } : null,
            new KnownRecord(record),
            cancellationToken);
        return update.Stored ?? record;
    }
}
