namespace Monetization.Core;

/// <summary>
/// The time one piece of work (a Portal request) may spend on outside calls, shared by every client it calls through.
/// Calls made before <see cref="Deadline"/> stop at it, retries included; calls made after it are the clean-up that
/// withdraws access after a failure, and they get the reserve up to <see cref="CleanupDeadline"/>. Both end before the
/// function itself is stopped, so the clean-up always has time to run.
/// </summary>
/// <remarks>
/// Ambient (it flows with the async context) because it must reach the clients' retry pipelines, which sit below
/// the HTTP clients and are shared between requests; without a budget every call keeps its own limits.
/// </remarks>
public sealed class CallBudget
{
    private static readonly AsyncLocal<CallBudget?> Ambient = new();

    private readonly TimeProvider _time;

    private CallBudget(TimeProvider time, DateTimeOffset deadline, DateTimeOffset cleanupDeadline)
    {
        _time = time;
        Deadline = deadline;
        CleanupDeadline = cleanupDeadline;
    }

    /// <summary>When the work's own calls must have finished.</summary>
    public DateTimeOffset Deadline { get; }

    /// <summary>When the clean-up's calls must have finished.</summary>
    public DateTimeOffset CleanupDeadline { get; }

    /// <summary>Starts a budget for the calls made from the current async context until the result is disposed.</summary>
    public static IDisposable Begin(TimeProvider time, TimeSpan budget, TimeSpan cleanupReserve)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(budget, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(cleanupReserve, TimeSpan.Zero);
        var now = time.GetUtcNow();
        var previous = Ambient.Value;
        Ambient.Value = new CallBudget(time, now + budget, now + budget + cleanupReserve);
        return new Scope(previous);
    }

    /// <summary>
    /// Marks the calls made from the current async context, until the result is disposed, as clean-up after a failure:
    /// they may run until <see cref="CleanupDeadline"/> even when the work's deadline is not yet quite reached (work
    /// that failed at its deadline fails a moment before it, which would leave the clean-up almost nothing).
    /// </summary>
    public static IDisposable Cleanup()
    {
        var previous = Ambient.Value;
        if (previous is not null)
        {
            Ambient.Value = new CallBudget(previous._time, previous.CleanupDeadline, previous.CleanupDeadline);
        }

        return new Scope(previous);
    }

    /// <summary>
    /// How long an outside call (or one attempt of it) started now may take: <paramref name="limit"/>, cut to what is
    /// left of the budget. Never zero, which timeout strategies read as "no timeout": an exhausted budget gives a
    /// call a millisecond, so it fails as timed out at once.
    /// </summary>
    public static TimeSpan Limit(TimeSpan limit)
    {
        if (Ambient.Value is not { } budget)
        {
            return limit;
        }

        var now = budget._time.GetUtcNow();
        var left = (now < budget.Deadline ? budget.Deadline : budget.CleanupDeadline) - now;
        left = left < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : left;
        return limit == Timeout.InfiniteTimeSpan || limit > left ? left : limit;
    }

    private sealed class Scope(CallBudget? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
