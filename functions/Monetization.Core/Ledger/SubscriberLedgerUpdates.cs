namespace Monetization.Core.Ledger;

/// <summary>
/// What a decision over the ledger's current record asks for: write <see cref="Next"/> (create it when there was no
/// record, otherwise replace the record that was decided on), or keep the record as it is. <see cref="Result"/> is what
/// the caller learns either way.
/// </summary>
public readonly record struct LedgerChange<T>(Subscriber? Next, T Result)
{
    public static LedgerChange<T> Write(Subscriber next, T result) => new(next ?? throw new ArgumentNullException(nameof(next)), result);

    public static LedgerChange<T> Keep(T result) => new(null, result);
}

/// <param name="Stored">The record as stored after the update, with its version; null only when there was no record and none was written.</param>
/// <param name="Result">What the winning decision returned.</param>
/// <param name="Written">Whether this call wrote the record.</param>
public sealed record LedgerUpdate<T>(Subscriber? Stored, T Result, bool Written);

/// <param name="Stored">The record as stored after the update, with its version; null only when there was no record and none was written.</param>
/// <param name="Written">Whether this call wrote the record.</param>
public sealed record LedgerUpdate(Subscriber? Stored, bool Written);

/// <summary>One round of making the world outside the ledger match a record (see <see cref="SubscriberLedgerUpdates.FollowAsync{T}"/>).</summary>
/// <param name="Applied">The record the round made the world match, as stored (a write of the round's own included).</param>
/// <param name="Result">What the round produced.</param>
/// <param name="Done">False when the round found it could not finish on this record (someone else's write got in first).</param>
public readonly record struct FollowRound<T>(Subscriber Applied, T Result, bool Done)
{
    public static FollowRound<T> Finished(Subscriber applied, T result) => new(applied, result, true);

    public static FollowRound<T> Again(Subscriber stored) => new(stored, default!, false);
}

/// <summary>The caller's belief about the stored record, which saves the first read; a write conflict falls back to reading.</summary>
/// <param name="Record">The record as last read or written by the caller, or null when the caller knows there is none.</param>
public sealed record KnownRecord(Subscriber? Record);

/// <summary>
/// The one read, decide, conditional write, retry loop every flow uses to change a subscriber, and the one loop that
/// makes the outside world follow a record. A decision is a pure function of the current record, so it is simply taken
/// again on the newer record when someone else wrote first; following re-reads the record after acting and acts again
/// when it moved meanwhile, so whoever finishes last has acted on the newest record.
/// </summary>
public static class SubscriberLedgerUpdates
{
    /// <summary>Bounds retries on contention; beyond it the update fails as a transient fault and the caller retries later.</summary>
    public const int MaxAttempts = 10;

    public static async Task<LedgerUpdate<T>> UpdateAsync<T>(
        this ISubscriberLedger ledger,
        string subscriberId,
        Func<Subscriber?, LedgerChange<T>> decide,
        KnownRecord? known,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        ArgumentNullException.ThrowIfNull(decide);
        var current = known is not null ? known.Record : await ledger.GetAsync(subscriberId, cancellationToken);
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var change = decide(current);
            if (change.Next is not { } next)
            {
                return new LedgerUpdate<T>(current, change.Result, Written: false);
            }

            // A first key is asked for while the subscriber awaits one, and the ask ends when that does: a subscriber
            // who comes to await a key again (access ended and came back before the consumer got to it) is asked for
            // anew instead of waiting on a request the consumer has already dropped.
            if (!next.AwaitsKey && (next.KeyRequestedAt is not null || next.KeyRefusedAt is not null))
            {
                next = next with { KeyRequestedAt = null, KeyRefusedAt = null };
            }

            if (!string.Equals(next.Id, subscriberId, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"A decision for subscriber {subscriberId} tried to write subscriber {next.Id}.");
            }

            var written = current is null
                ? await ledger.TryCreateAsync(next, cancellationToken)
                : await ledger.TryReplaceAsync(next, current.Version, cancellationToken);
            if (written)
            {
                return new LedgerUpdate<T>(next with { Version = (current?.Version ?? 0) + 1 }, change.Result, Written: true);
            }

            current = await ledger.GetAsync(subscriberId, cancellationToken);
        }

        throw KeptChanging(subscriberId, "update subscriber");
    }

    /// <summary>The loop above for a decision that only ever writes the record it returns (or keeps the record, given null).</summary>
    public static async Task<LedgerUpdate> UpdateAsync(
        this ISubscriberLedger ledger,
        string subscriberId,
        Func<Subscriber?, Subscriber?> decide,
        KnownRecord? known,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(decide);
        var update = await ledger.UpdateAsync(
            subscriberId,
            current => decide(current) is { } next ? LedgerChange<bool>.Write(next, true) : LedgerChange<bool>.Keep(false),
            known,
            cancellationToken);
        return new LedgerUpdate(update.Stored, update.Written);
    }

    /// <summary>
    /// Acts on <paramref name="record"/> (<paramref name="round"/> calls the outside world, and may write the record),
    /// then reads the record again: when it moved meanwhile, or the round could not finish, the next round acts on the
    /// newer one. Rounds must be idempotent.
    /// </summary>
    /// <returns>The result of the round after which the record stood still.</returns>
    public static async Task<T> FollowAsync<T>(
        this ISubscriberLedger ledger,
        Subscriber record,
        Func<Subscriber, CancellationToken, Task<FollowRound<T>>> round,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(round);
        var current = record;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var done = await round(current, cancellationToken);
            var latest = await ledger.GetAsync(done.Applied.Id, cancellationToken)
                ?? throw new InvalidOperationException($"Subscriber {done.Applied.Id} disappeared from the ledger while following it.");
            if (done.Done && latest.Version == done.Applied.Version)
            {
                return done.Result;
            }

            current = latest;
        }

        throw KeptChanging(record.Id, "follow subscriber");
    }

    private static DependencyUnavailableException KeptChanging(string subscriberId, string operation) =>
        new("ledger", operation, new InvalidOperationException($"Subscriber {subscriberId} kept changing; gave up after {MaxAttempts} attempts."));
}
