namespace Monetization.Core.Idempotency;

/// <summary>
/// What happened to one idempotent call. Every case is an expected answer the caller branches on; faults of the work
/// or the store are exceptions instead. The hierarchy is closed: only the cases below exist.
/// </summary>
public abstract record IdempotencyOutcome
{
    private IdempotencyOutcome()
    {
    }

    /// <summary>This call claimed the key and ran the work, which returned <see cref="Result"/>.</summary>
    public sealed record Executed<T>(T Result) : IdempotencyOutcome;

    /// <summary>An earlier call with the same payload completed; its stored result (as text) is returned and the work did not run.</summary>
    public sealed record Replayed(string Result) : IdempotencyOutcome;

    /// <summary>Another call with the same payload holds the key and has not finished; ask again after <see cref="Until"/> at the latest.</summary>
    public sealed record InProgress(DateTimeOffset Until) : IdempotencyOutcome;

    /// <summary>The key was used with a different payload: a caller bug or a reused key, never something to retry.</summary>
    public sealed record PayloadMismatch : IdempotencyOutcome;
}
