namespace Monetization.Core.ApiKeys;

/// <summary>
/// Spaces this process's API key deletions at least 1 / <c>perSecond</c> apart. API Gateway allows DeleteApiKey 5 times
/// a second per account and region, shared with everything else the account runs, so the usage reporter (one run at a
/// time) deletes well below that; each caller waits for its turn, in the order they asked.
/// </summary>
public sealed class KeyDeletionPace
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    public KeyDeletionPace(double perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perSecond);
        ArgumentNullException.ThrowIfNull(time);
        _interval = TimeSpan.FromSeconds(1 / perSecond);
        _time = time;
    }

    /// <summary>Completes when the caller may delete one key: at once when the last turn was an interval ago or longer.</summary>
    public Task WaitTurnAsync(CancellationToken cancellationToken)
    {
        TimeSpan wait;
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var turn = _next > now ? _next : now;
            _next = turn + _interval;
            wait = turn - now;
        }

        return wait > TimeSpan.Zero ? Task.Delay(wait, _time, cancellationToken) : Task.CompletedTask;
    }
}
