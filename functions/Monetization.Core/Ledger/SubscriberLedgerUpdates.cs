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

/// <summary>The caller's belief about the stored record, which saves the first read; a write conflict falls back to reading.</summary>
/// <param name="Record">The record as last read or written by the caller, or null when the caller knows there is none.</param>
public sealed record KnownRecord(Subscriber? Record);

/// <summary>
/// The one read, decide, conditional write, retry loop every flow uses to change a subscriber. The decision is a pure
/// function of the current record, so it is simply taken again on the newer record when someone else wrote first.
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

        throw new DependencyUnavailableException(
            "ledger",
            "update subscriber",
            new InvalidOperationException($"Subscriber {subscriberId} kept changing; no decision could be written after {MaxAttempts} attempts."));
    }
}
