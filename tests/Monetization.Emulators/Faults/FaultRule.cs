namespace Monetization.Emulators.Faults;

public enum FaultKind
{
    /// <summary>Answer with <see cref="FaultRule.Status"/>, <see cref="FaultRule.Headers"/> and <see cref="FaultRule.Body"/>.</summary>
    Status,

    /// <summary>Drop the connection without an answer.</summary>
    Reset,

    /// <summary>Hold the request far beyond any client timeout.</summary>
    Timeout,

    /// <summary>Wait <see cref="FaultRule.DelayMs"/>, then handle the request normally.</summary>
    Latency,
}

public enum FaultPhase
{
    /// <summary>The request never reaches the emulated API: nothing runs and nothing is remembered.</summary>
    Before,

    /// <summary>
    /// The emulated API accepted the request and remembers the outcome (for example under an idempotency key);
    /// only emulators that have such a memory honour this phase.
    /// </summary>
    After,
}

/// <summary>
/// One injected misbehaviour. Matches requests by method and path prefix (both optional) and affects the next
/// <see cref="Count"/> of them, or every one while <see cref="Count"/> is null.
/// </summary>
public sealed record FaultRule
{
    public string? Method { get; init; }

    public string? PathPrefix { get; init; }

    public FaultKind Kind { get; init; } = FaultKind.Status;

    public FaultPhase Phase { get; init; } = FaultPhase.Before;

    public int? Status { get; init; }

    public int? Count { get; init; }

    public int? DelayMs { get; init; }

    public string? Body { get; init; }

    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    internal bool Matches(string method, string path) =>
        (Method is null || string.Equals(Method, method, StringComparison.OrdinalIgnoreCase))
        && (PathPrefix is null || path.StartsWith(PathPrefix, StringComparison.Ordinal));

    internal void Validate()
    {
        if (Count is <= 0)
        {
            throw new ArgumentException("count must be positive when given.", nameof(Count));
        }

        if (Kind == FaultKind.Status && Status is not (>= 100 and <= 599))
        {
            throw new ArgumentException("a status fault needs a status between 100 and 599.", nameof(Status));
        }

        if (Kind == FaultKind.Latency && DelayMs is not > 0)
        {
            throw new ArgumentException("a latency fault needs a positive delayMs.", nameof(DelayMs));
        }

        if (DelayMs is < 0)
        {
            throw new ArgumentException("delayMs cannot be negative.", nameof(DelayMs));
        }
    }
}
