using System.Diagnostics;
using System.Globalization;

namespace Monetization.Http;

/// <summary>
/// Stage times of a cold start, for finding where start-up goes: with <c>MONETIZATION_STARTUP_TRACE=1</c> each host
/// writes one line per stage to standard error, <c>startup-trace &lt;stage&gt; &lt;ms since process start&gt;
/// &lt;unix ms&gt; &lt;ms spent in the JIT&gt; &lt;methods the JIT compiled&gt;</c> (the absolute time lets a caller that
/// started the process measure from its own clock; the JIT's share says how much ReadyToRun left to compile). Off, it
/// costs one environment read.
/// </summary>
public static class StartupTrace
{
    public const string Variable = "MONETIZATION_STARTUP_TRACE";

    private static readonly bool Enabled = Environment.GetEnvironmentVariable(Variable) == "1";
    private static int _once;

    /// <summary>Records <paramref name="stage"/> now.</summary>
    public static void Mark(string stage)
    {
        if (!Enabled)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow;
        using var self = Process.GetCurrentProcess();
        var sinceStart = (now - new DateTimeOffset(self.StartTime.ToUniversalTime(), TimeSpan.Zero)).TotalMilliseconds;
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"startup-trace {stage} {sinceStart:0.0} {now.ToUnixTimeMilliseconds() + (now.Ticks % TimeSpan.TicksPerMillisecond / (double)TimeSpan.TicksPerMillisecond):0.0} {System.Runtime.JitInfo.GetCompilationTime().TotalMilliseconds:0.0} {System.Runtime.JitInfo.GetCompiledMethodCount()}"));
    }

    /// <summary>Records <paramref name="stage"/> the first time it is reached only (a first request, say).</summary>
    public static void MarkOnce(string stage)
    {
        if (Enabled && Interlocked.Exchange(ref _once, 1) == 0)
        {
            Mark(stage);
        }
    }
}
