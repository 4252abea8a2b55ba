using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <param name="Subscriber">The ledger record access was converged to, with its stored version.</param>
/// <param name="Key">The buyer's one API key; null while it is being made, when the subscription ended before there was one, or when the record turned out to be another name of a buyer and so has none.</param>
public sealed record ConvergedAccess(Subscriber Subscriber, ApiKey? Key)
{
    public bool HasAccess => Subscriber.Subscribed && Subscriber.MergedInto is null && Key is not null;
}

/// <summary>
/// Makes API Gateway match the ledger for one Marketplace buyer: exactly one API key, linked to the buyer, enabled
/// and in the Marketplace usage plan exactly when the ledger says subscribed. The landing, the event flow and the key
/// minting consumer all come through here, so there is one way a key is found, asked for or granted. Who the buyer is
/// (their names, the fold of one into the other) is <see cref="MarketplaceIdentity"/>'s business.
/// </summary>
/// <remarks>
/// Convergence works from the ledger's current record, never from an event, and follows it
/// (<see cref="SubscriberLedgerUpdates.FollowAsync{T}"/>): when the record moved while we were calling API Gateway (a
/// concurrent landing, event or the key minting consumer), the round is repeated from the newer record, so whoever
/// finishes last applied the newest record and concurrent convergers cannot leave a stale grant or revocation behind.
/// A round on a buyer with a recorded key makes three sequential round trips: the key and the keys with its name read
/// side by side, then the one key update, the plan membership and the deletion of strays side by side, then the ledger.
/// A buyer without a key has one asked of the key minting queue (<see cref="RequestKey"/>), never made on a person's
/// request or an event; the consumer imports it (working at once only for a confirmed buyer known by account +
/// license; otherwise disabled and outside the plan, as the import file cannot carry the buyer's <c>customerId</c>) and
/// it gets what else it needs here once the ledger names it (<see cref="ConvergeImportedAsync"/>). A key found by the
/// buyer's name or customer that the ledger does not name (an import whose recording was cut short, or a key from
/// before the queue) is adopted instead; the losers of such a race were never shown to anyone (a value is shown only
/// once recorded) and are deleted by whoever sees them.
/// </remarks>
public sealed partial class MarketplaceAccess(
    ISubscriberLedger ledger,
    ApiKeyAccess keyAccess,
    MarketplaceOptions options,
    TimeProvider timeProvider,
    ILogger<MarketplaceAccess> logger)
{
    /// <summary>
    /// Converges the buyer's key to the record. A buyer whose access ended has their key disabled only: it stays in the
    /// plan, where API Gateway keeps reporting its usage, until the usage reporter has metered all of it and takes it out.
    /// A buyer without a key yet gets none here (<see cref="ConvergedAccess.Key"/> is null).
    /// </summary>
    /// <param name="keys">Where a buyer who awaits a key has it asked for; null leaves it unasked (the consumer itself).</param>
    public Task<ConvergedAccess> ConvergeAsync(Subscriber subscriber, RequestKey? keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        var holder = MarketplaceCustomer.HolderOf(subscriber);
        return ledger.FollowAsync(subscriber, (record, ct) => RoundAsync(holder, record, keys, known: null, knownInPlan: false, ct), cancellationToken);
    }

    /// <summary>
    /// The key minting consumer's half, right after it imported the key (<paramref name="granted"/>: enabled in the
    /// plan, else disabled in no plan; never with a <c>customerId</c>) and recorded it on <paramref name="subscriber"/>:
    /// the key gets the buyer's <c>customerId</c> and the access the record says. The first round trusts what the
    /// import made instead of reading it back, so a confirmed buyer known by account + license costs no call at all.
    /// </summary>
    public Task<ConvergedAccess> ConvergeImportedAsync(Subscriber subscriber, string keyId, bool granted, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        var holder = MarketplaceCustomer.HolderOf(subscriber);
        var imported = new ApiKey(keyId, holder.KeyName, granted, CustomerId: null, new Dictionary<string, string>(), Value: null);
        HolderKeys? known = new(imported, [imported]);
        return ledger.FollowAsync(
            subscriber,
            (record, ct) =>
            {
                // Only the first round may trust the import; later ones (the record moved meanwhile) read.
                var first = string.Equals(record.ApiKeyId, keyId, StringComparison.Ordinal) ? known : null;
                known = null;
                return RoundAsync(holder, record, keys: null, first, knownInPlan: first is not null && granted, ct);
            },
            cancellationToken);
    }

    /// <param name="known">What API Gateway holds, when the caller knows it (saves the reads).</param>
    /// <param name="knownInPlan">Whether the key is known to be in the plan already (saves adding it again).</param>
    private async Task<FollowRound<ConvergedAccess>> RoundAsync(
        KeyHolder holder, Subscriber record, RequestKey? keys, HolderKeys? known, bool knownInPlan, CancellationToken cancellationToken)
    {
        if (record.MergedInto is not null)
        {
            await keyAccess.DeleteAllAsync(holder, cancellationToken);
            return FollowRound<ConvergedAccess>.Finished(record, new ConvergedAccess(record, null));
        }

        var read = known ?? await keyAccess.ReadAsync(holder, record.ApiKeyId, includeValue: false, cancellationToken);

        // Keys a rotation retired share the name; they are neither adopted nor strays, and follow their own way out.
        var found = read with { Named = [.. read.Named.Where(k => string.Equals(k.Id, record.ApiKeyId, StringComparison.Ordinal) || !record.HoldsKey(k.Id))] };
        var key = found.Recorded;
        if (key is null && record is { ApiKeyId: null, AwaitsKey: false })
        {
            // Ended before it had a key: it needs none. A key the consumer made for it meanwhile is the consumer's to
            // discard, as it decides on the current record where this round may hold an older one.
            return FollowRound<ConvergedAccess>.Finished(record, new ConvergedAccess(record, null));
        }

        if (key is null)
        {
            if (record.ApiKeyId is { } missing)
            {
                LogRecordedKeyMissing(record.Id, missing);
            }

            if (await keyAccess.FindAdoptableAsync(holder, found, includeValue: false, cancellationToken) is not { } candidate)
            {
                return await AskForKeyAsync(record, keys, cancellationToken);
            }

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
            keyAccess.MatchAsync(holder, key, record.Subscribed, options.UsagePlanId, found.Named, knownInPlan, cancellationToken),
            record.Subscribed ? Task.CompletedTask : keyAccess.DisableRetiringAsync(record, cancellationToken));
        return FollowRound<ConvergedAccess>.Finished(record, new ConvergedAccess(record, key with { Enabled = record.Subscribed }));
    }

    /// <summary>
    /// No key to grant: one is asked of the key minting queue while the buyer awaits it. A recorded key that no longer
    /// exists is forgotten first, so the buyer awaits a new one.
    /// </summary>
    private async Task<FollowRound<ConvergedAccess>> AskForKeyAsync(Subscriber record, RequestKey? keys, CancellationToken cancellationToken)
    {
        if (record.ApiKeyId is { } missing)
        {
            var forgotten = await ledger.UpdateAsync(
                record.Id,
                current => current is { MergedInto: null } && string.Equals(current.ApiKeyId, missing, StringComparison.Ordinal)
                    ? current with { ApiKeyId = null, UpdatedAt = timeProvider.GetUtcNow() }
                    : null,
                new KnownRecord(record),
                cancellationToken);
            return FollowRound<ConvergedAccess>.Again(forgotten.Stored ?? record);
        }

        if (keys is null)
        {
            return FollowRound<ConvergedAccess>.Finished(record, new ConvergedAccess(record, null));
        }

        var asked = await keys.EnsureRequestedAsync(record, cancellationToken);

        // A queue that made the key at once (or someone else's write) moved the record: the next round grants from it.
        return asked.AwaitsKey
            ? FollowRound<ConvergedAccess>.Finished(asked, new ConvergedAccess(asked, null))
            : FollowRound<ConvergedAccess>.Again(asked);
    }

    /// <summary>
    /// Names the candidate in the record while it awaits a key or names the missing one, unless another existing key
    /// got there first (then the next round adopts that one). A record that ended meanwhile takes none, as the key
    /// minting consumer decides on the same record.
    /// </summary>
    private Subscriber? RecordKey(Subscriber? record, string candidateId, string? missingId)
    {
        if (record is null)
        {
            throw new InvalidOperationException("The subscriber disappeared from the ledger while recording its key.");
        }

        var free = record.AwaitsKey || (missingId is not null && string.Equals(record.ApiKeyId, missingId, StringComparison.Ordinal));
        return record.MergedInto is null && free && !string.Equals(record.ApiKeyId, candidateId, StringComparison.Ordinal)
            ? record with { ApiKeyId = candidateId, UsagePlanId = options.UsagePlanId, KeyRequestedAt = null, KeyRefusedAt = null, UpdatedAt = timeProvider.GetUtcNow() }
            : null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recorded API key {ApiKeyId} of {SubscriberId} no longer exists; finding or asking for another")]
    private partial void LogRecordedKeyMissing(string subscriberId, string apiKeyId);
}
