namespace Monetization.Emulators.AwsStandIn;

/// <summary>
/// API Gateway's throttling: a bucket of <c>capacity</c> requests (the burst) refilled at <c>rate</c> a second. A
/// request takes one token; with none left it is refused.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly double _capacity;
    private readonly double _rate;
    private double _tokens;
    private DateTimeOffset _at;

    public TokenBucket(double capacity, double rate, DateTimeOffset now)
    {
        _capacity = capacity;
        _rate = rate;
        _tokens = capacity;
        _at = now;
    }

    public bool TryTake(DateTimeOffset now)
    {
        lock (_lock)
        {
            Refill(now);
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }

    /// <summary>Whether a token is there now (taking nothing).</summary>
    public bool HasToken(DateTimeOffset now)
    {
        lock (_lock)
        {
            Refill(now);
            return _tokens >= 1;
        }
    }

    /// <summary>How long until a token is there.</summary>
    public TimeSpan Wait(DateTimeOffset now)
    {
        lock (_lock)
        {
            Refill(now);
            return _tokens >= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds((1 - _tokens) / _rate);
        }
    }

    private void Refill(DateTimeOffset now)
    {
        _tokens = Math.Min(_capacity, _tokens + (Math.Max(0, (now - _at).TotalSeconds) * _rate));
        _at = now > _at ? now : _at;
    }
}
