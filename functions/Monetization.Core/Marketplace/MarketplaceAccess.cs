using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <param name="Subscriber">The ledger record access was converged to, with its stored version.</param>
/// <param name="Key">The buyer's one API key (with its value when asked for); null when the record turned out to be another name of a buyer and so has none.</param>
public sealed record ConvergedAccess(Subscriber Subscriber, ApiKey? Key)
{
    public bool HasAccess => Subscriber.Subscribed && Subscriber.MergedInto is null && Key is not null;
}

/// <summary>
/// Makes API Gateway match the ledger for one Marketplace buyer: exactly one API key, linked to the buyer, enabled
/// and in the Marketplace usage plan exactly when the ledger says subscribed. The landing and the event flow both come
/// through here, so there is one way a key is found or created. Who the buyer is (their names, the fold of one into the
/// other) is <see cref="MarketplaceIdentity"/>'s business.
/// </summary>
/// <remarks>
/// Convergence works from the ledger's current record, never from an event, and follows it
/// (<see cref="SubscriberLedgerUpdates.FollowAsync{T}"/>): when the record moved while we were calling API Gateway (a
/// concurrent landing or event), the round is repeated from the newer record, so whoever finishes last applied the
/// newest record and concurrent convergers cannot leave a stale grant or revocation behind.
/// A round on a buyer with a recorded key makes three sequential round trips: the key and the keys with its name read
/// side by side, then the one key update, the plan membership and the deletion of strays side by side, then the ledger.
/// Keys are created disabled and outside the plan and only get access after the ledger names them, so a key that lost a
/// creation race never carries access; it is deleted by whoever sees it (same deterministic name).
/// </remarks>
public sealed partial class MarketplaceAccess(
    ISubscriberLedger ledger, ApiKeyAccess keyAccess, MarketplaceOptions options, TimeProvider timeProvider, ILogger<MarketplaceAccess> logger)
{
    /// <summary>
    /// Converges the buyer's key to the record. A buyer whose access ended has their key disabled only: it stays in the
    /// plan, where API Gateway keeps reporting its usage, until the usage reporter has metered all of it and takes it out.
    /// </summary>
    /// <param name="includeValue">Whether the returned key carries its value (the landing shows it).</param>
    public Task<ConvergedAccess> ConvergeAsync(
        MarketplaceCustomer customer, Subscriber subscriber, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(subscriber);
        return ledger.FollowAsync(subscriber, (record, ct) => RoundAsync(HolderOf(customer), record, includeValue, ct), cancellationToken);
    }

    private async Task<FollowRound<ConvergedAccess>> RoundAsync(KeyHolder holder, Subscriber record, bool includeValue, CancellationToken cancellationToken)
    {
        if (record.MergedInto is not null)
        {
            await keyAccess.DeleteAllAsync(holder, cancellationToken);
            return FollowRound<ConvergedAccess>.Finished(record, new ConvergedAccess(record, null));
        }

        var read = await keyAccess.ReadAsync(holder, record.ApiKeyId, includeValue, cancellationToken);

        // Keys a rotation retired share the name; they are neither adopted nor strays, and follow their own way out.
        var found = read with { Named = [.. read.Named.Where(k => string.Equals(k.Id, record.ApiKeyId, StringComparison.Ordinal) || !record.HoldsKey(k.Id))] };
        var key = found.Recorded;
        if (key is null)
        {
            if (record.ApiKeyId is { } missing)
            {
                LogRecordedKeyMissing(record.Id, missing);
            }

            var candidate = await keyAccess.AdoptOrCreateAsync(holder, found, includeValue, cancellationToken);
            var update = await ledger.UpdateAsync(record.Id, current => RecordKey(current, candidate.Id, record.ApiKeyId), new KnownRecord(record), cancellationToken);
            if (!string.Equals(update.Stored?.ApiKeyId, candidate.Id, StringComparison.Ordinal))
            {
                // Another key was recorded first (ours is now a stray), or the record was sealed: the next round adopts what is there.
                return FollowRound<ConvergedAccess>.Again(update.Stored ?? record);
            }

            record = update.Stored!;
            key = candidate;
        }

        await Task.WhenAll(
            keyAccess.MatchAsync(holder, key, record.Subscribed, options.UsagePlanId, found.Named, cancellationToken),
            record.Subscribed ? Task.CompletedTask : keyAccess.DisableRetiringAsync(record, cancellationToken));
        return FollowRound<ConvergedAccess>.Finished(record, new ConvergedAccess(record, key with { Enabled = record.Subscribed }));
    }

    private static KeyHolder HolderOf(MarketplaceCustomer customer) =>
        new(customer.SubscriberId, Channel.Marketplace, customer.ApiKeyName, customer.ApiKeyCustomerId);

    /// <summary>Names the candidate in the record unless another existing key got there first (then the next round adopts that one).</summary>
    private Subscriber? RecordKey(Subscriber? record, string candidateId, string? missingId)
    {
        if (record is null)
        {
            throw new InvalidOperationException("The subscriber disappeared from the ledger while recording its key.");
        }

        var free = record.ApiKeyId is null || string.Equals(record.ApiKeyId, missingId, StringComparison.Ordinal);
        return record.MergedInto is null && free && !string.Equals(record.ApiKeyId, candidateId, StringComparison.Ordinal)
            ? record with { ApiKeyId = candidateId, UsagePlanId = options.UsagePlanId, UpdatedAt = timeProvider.GetUtcNow() }
            : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recorded API key {ApiKeyId} of {SubscriberId} no longer exists; finding or creating another")]
    private partial void LogRecordedKeyMissing(string subscriberId, string apiKeyId);
}
