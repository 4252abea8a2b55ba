namespace Monetization.Core.Idempotency;

public sealed record IdempotencyOptions
{
    /// <summary>How long a completed result is replayed. Matches Stripe's 24 h idempotency window by default.</summary>
    public TimeSpan RecordTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a claim blocks others before it counts as abandoned (its owner crashed or timed out) and may be claimed
    /// again. Must exceed the longest the work can legitimately run, e.g. the Lambda timeout: a claim that outlives it
    /// can be taken over while its owner is still working, and then the work runs twice.
    /// </summary>
    public TimeSpan InProgressTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public void Validate()
    {
        if (InProgressTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(InProgressTimeout), InProgressTimeout, "Must be positive.");
        }

        if (RecordTtl <= InProgressTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(RecordTtl), RecordTtl, "Must be longer than InProgressTimeout.");
        }
    }
}
