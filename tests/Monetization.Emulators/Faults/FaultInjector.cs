namespace Monetization.Emulators.Faults;

/// <summary>
/// The faults an emulator should inject, shared by its HTTP control API and by tests that call it directly.
/// Thread-safe: a rule with a count is consumed exactly that many times however many requests race for it.
/// </summary>
public sealed class FaultInjector
{
    private readonly Lock _lock = new();
    private readonly List<ActiveFault> _faults = [];
    private readonly Dictionary<FaultRule, int> _hits = new(ReferenceEqualityComparer.Instance);

    /// <summary>How many requests <paramref name="rule"/> (the instance given to <see cref="Add"/>) has applied to.</summary>
    public int Hits(FaultRule rule)
    {
        lock (_lock)
        {
            return _hits.GetValueOrDefault(rule);
        }
    }

    public void Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        rule.Validate();
        lock (_lock)
        {
            _faults.Add(new ActiveFault(rule, rule.Count));
        }
    }

    /// <summary>Adds a delay to every matching request until cleared.</summary>
    public void AddLatency(TimeSpan delay, string? method = null, string? pathPrefix = null) =>
        Add(new FaultRule { Kind = FaultKind.Latency, DelayMs = (int)delay.TotalMilliseconds, Method = method, PathPrefix = pathPrefix });

    public void Clear()
    {
        lock (_lock)
        {
            _faults.Clear();
        }
    }

    /// <summary>Rules still in force, with what is left of their counts.</summary>
    public IReadOnlyList<FaultRule> Active
    {
        get
        {
            lock (_lock)
            {
                return [.. _faults.Select(f => f.Rule with { Count = f.Remaining })];
            }
        }
    }

    /// <summary>
    /// Consumes what applies to one request in one phase: the first matching latency rule and the first matching
    /// rule of any other kind.
    /// </summary>
    public FaultDecision Take(string method, string path, FaultPhase phase)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(path);
        lock (_lock)
        {
            var latency = TakeFirst(f => f.Rule.Kind == FaultKind.Latency && f.Rule.Phase == phase && f.Rule.Matches(method, path));
            var fault = TakeFirst(f => f.Rule.Kind != FaultKind.Latency && f.Rule.Phase == phase && f.Rule.Matches(method, path));
            return new FaultDecision(latency is null ? TimeSpan.Zero : TimeSpan.FromMilliseconds(latency.DelayMs ?? 0), fault);
        }
    }

    private FaultRule? TakeFirst(Func<ActiveFault, bool> predicate)
    {
        for (var i = 0; i < _faults.Count; i++)
        {
            var fault = _faults[i];
            if (!predicate(fault))
            {
                continue;
            }

            if (fault.Remaining is { } remaining)
            {
                if (remaining <= 1)
                {
                    _faults.RemoveAt(i);
                }
                else
                {
                    _faults[i] = fault with { Remaining = remaining - 1 };
                }
            }

            _hits[fault.Rule] = _hits.GetValueOrDefault(fault.Rule) + 1;
            return fault.Rule;
        }

        return null;
    }

    private sealed record ActiveFault(FaultRule Rule, int? Remaining);
}

/// <summary>What one request gets: a delay (possibly zero) and at most one fault.</summary>
public sealed record FaultDecision(TimeSpan Delay, FaultRule? Fault);
