using Monetization.Core.Ledger;

namespace Monetization.Core.ApiKeys;

/// <summary>
/// Asks the key minting queue for the first key of a subscriber who awaits one, and notes when on the record. Asked
/// again only after <see cref="ResendAfter"/>, so the grants that follow one another as access starts (the return from
/// checkout, its webhooks, a Marketplace landing and its events) send one request, and a request lost with its queue is
/// sent again by the next of them or by the account page.
/// </summary>
/// <remarks>
/// Noted first, sent after. The note lasts only while the subscriber awaits a key (the ledger's update loop clears it
/// when that ends), so a request the consumer dropped because the subscriber did not await a key when it came is never
/// taken for one still to come: whoever next finds the subscriber awaiting a key asks again. A send that fails takes its
/// note back, so the next caller does not wait on a request that never reached the queue.
/// </remarks>
public sealed class RequestKey(ISubscriberLedger ledger, IKeyMintQueue queue, TimeProvider clock)
{
    public static readonly TimeSpan ResendAfter = TimeSpan.FromMinutes(1);

    /// <returns>The record as stored afterwards (the consumer may have moved it on since).</returns>
    public async Task<Subscriber> EnsureRequestedAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        var now = clock.GetUtcNow();
        bool Due(Subscriber? current) => current is { AwaitsKey: true } && !(current.KeyRequestedAt is { } asked && now - asked < ResendAfter);
        if (!Due(record))
        {
            return record;
        }

        var noted = await ledger.UpdateAsync(
            record.Id, current => Due(current) ? current! with { KeyRequestedAt = now, UpdatedAt = now } : null, new KnownRecord(record), cancellationToken);
        if (!noted.Written)
        {
            // Someone else asked meanwhile, or the subscriber no longer awaits a key.
            return noted.Stored ?? record;
        }

        try
        {
            await queue.RequestAsync(new KeyMintRequest(record.Id, now), cancellationToken);
        }
        catch
        {
            await TakeNoteBackAsync(record.Id, now);
            throw;
        }

        return noted.Stored!;
    }

    /// <summary>Best effort: a ledger that fails here too leaves the note, and the request is asked again after <see cref="ResendAfter"/>.</summary>
    private async Task TakeNoteBackAsync(string subscriberId, DateTimeOffset noted)
    {
        try
        {
            await ledger.UpdateAsync(
                subscriberId,
                current => current is { KeyRequestedAt: { } asked } && asked == noted ? current with { KeyRequestedAt = null, UpdatedAt = clock.GetUtcNow() } : null,
                known: null,
                CancellationToken.None);
        }
        catch (DependencyUnavailableException)
        {
            // The send's own failure is the one the caller hears of.
        }
    }
}
