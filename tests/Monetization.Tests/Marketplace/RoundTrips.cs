using System.Collections.Concurrent;
using System.Reflection;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// Counts a flow's sequential round trips through the interfaces it is given: a call started after calls of depth d
/// completed has depth d + 1, calls started side by side share a depth, so <see cref="Depth"/> is the longest chain of
/// calls that waited for one another. Run the flow with <see cref="RunAsync{T}"/>: on one thread, calls a flow starts
/// side by side have all started before any of them can complete, so the count does not depend on thread timing.
/// </summary>
public sealed class RoundTrips
{
    private readonly object _gate = new();
    private readonly List<(string Call, int Depth)> _calls = [];
    private int _completed;

    public int Depth { get; private set; }

    /// <summary>Every call (interface.method) with its depth, in the order they started.</summary>
    public IReadOnlyList<(string Call, int Depth)> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Runs <paramref name="flow"/> on a thread of its own whose continuations all run on that thread.</summary>
    public static Task<T> RunAsync<T>(Func<Task<T>> flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        return Task.Factory.StartNew(
            () =>
            {
                var previous = SynchronizationContext.Current;
                using var context = new OneThreadContext();
                SynchronizationContext.SetSynchronizationContext(context);
                try
                {
                    var task = flow();
                    task.ContinueWith(_ => context.Complete(), TaskScheduler.Default);
                    context.Pump();
                    return task.GetAwaiter().GetResult();
                }
                finally
                {
                    SynchronizationContext.SetSynchronizationContext(previous);
                }
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
    }

    public T Wrap<T>(T inner)
        where T : class
    {
        var proxy = DispatchProxy.Create<T, CountingProxy>();
        var counting = (CountingProxy)(object)proxy;
        counting.Inner = inner;
        counting.Trips = this;
        counting.Prefix = typeof(T).Name + ".";
        return proxy;
    }

    /// <summary>Forgets what was counted (for a flow measured after its arrangement).</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _calls.Clear();
            _completed = 0;
            Depth = 0;
        }
    }

    private int Start(string call)
    {
        lock (_gate)
        {
            var depth = _completed + 1;
            _calls.Add((call, depth));
            Depth = Math.Max(Depth, depth);
            return depth;
        }
    }

    private void End(int depth)
    {
        lock (_gate)
        {
            _completed = Math.Max(_completed, depth);
        }
    }

    private static async Task Counted(Task task, RoundTrips trips, int depth)
    {
        try
        {
            await task;
        }
        finally
        {
            trips.End(depth);
        }
    }

    private static async Task<TResult> Counted<TResult>(Task<TResult> task, RoundTrips trips, int depth)
    {
        try
        {
            return await task;
        }
        finally
        {
            trips.End(depth);
        }
    }

    public class CountingProxy : DispatchProxy
    {
        private static readonly MethodInfo CountedOfT = typeof(RoundTrips)
            .GetMethods(BindingFlags.NonPublic | BindingFlags.Static)
            .Single(m => m.Name == nameof(Counted) && m.IsGenericMethodDefinition);

        internal object Inner { get; set; } = null!;

        internal RoundTrips Trips { get; set; } = null!;

        internal string Prefix { get; set; } = string.Empty;

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            ArgumentNullException.ThrowIfNull(targetMethod);
            if (!typeof(Task).IsAssignableFrom(targetMethod.ReturnType))
            {
                return Invoke(targetMethod, args, Inner);
            }

            var depth = Trips.Start(Prefix + targetMethod.Name);
            var task = (Task)Invoke(targetMethod, args, Inner)!;
            return targetMethod.ReturnType.IsGenericType
                ? CountedOfT.MakeGenericMethod(targetMethod.ReturnType.GetGenericArguments()[0]).Invoke(null, [task, Trips, depth])
                : Counted(task, Trips, depth);
        }

        private static object? Invoke(MethodInfo method, object?[]? args, object target)
        {
            try
            {
                return method.Invoke(target, args);
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }
    }

    private sealed class OneThreadContext : SynchronizationContext, IDisposable
    {
        private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _queue = [];

        public override void Post(SendOrPostCallback d, object? state) => _queue.Add((d, state));

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

        public void Complete() => _queue.CompleteAdding();

        public void Pump()
        {
            foreach (var (callback, state) in _queue.GetConsumingEnumerable())
            {
                callback(state);
            }
        }

        public void Dispose() => _queue.Dispose();
    }
}
