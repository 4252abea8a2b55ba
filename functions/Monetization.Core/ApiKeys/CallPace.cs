namespace Monetization.Core.ApiKeys;

/// <summary>
/// Spaces one kind of this process's control-plane calls at least 1 / <c>perSecond</c> apart: the usage reporter's API
/// key deletions (API Gateway allows DeleteApiKey 5 times a second per account and region, shared with everything else
/// the account runs) and the key minting consumer's imports. Each caller waits for its turn, in the order they asked.
/// </summary>
public sealed class CallPace
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private DateTimeOffset _next = DateTimeOffset.MinValue;

    public CallPace(double perSecond, TimeProvider time)
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
