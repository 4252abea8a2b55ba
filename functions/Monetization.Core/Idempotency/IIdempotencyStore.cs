namespace Monetization.Core.Idempotency;

public enum IdempotencyStatus
{
    InProgress,
    Completed,
}

/// <summary>What the store holds for one idempotency key.</summary>
public sealed record IdempotencyRecord(
    string Key,
    string PayloadHash,
    IdempotencyStatus Status,
    string? Result,
    DateTimeOffset ExpiresAt,
    DateTimeOffset InProgressUntil);

/// <summary>
/// Storage for <see cref="IdempotentExecutor"/>. The store only translates; the rules live in the executor.
/// "Now" is always passed in so the store never reads a clock.
/// </summary>
public interface IIdempotencyStore
{
    /// <summary>
    /// One conditional put of an in-progress record. Succeeds when no record exists, the existing one has expired,
    /// or it is an in-progress claim whose <see cref="IdempotencyRecord.InProgressUntil"/> has passed.
    /// </summary>
    /// <returns><c>null</c> when the claim was taken; otherwise the record that stands in the way (read consistently).</returns>
    Task<IdempotencyRecord?> TryClaimAsync(IdempotencyRecord claim, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Marks a claim completed with its result, only if it is still the caller's in-progress claim.</summary>
    Task CompleteAsync(string key, string payloadHash, string result, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Deletes an in-progress claim so the work can be tried again (used when the work failed).</summary>
    Task ReleaseAsync(string key, string payloadHash, CancellationToken cancellationToken);
}
