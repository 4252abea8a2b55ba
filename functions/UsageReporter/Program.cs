using Monetization.Lambda;

namespace Monetization.UsageReporter;

/// <summary>
/// The function's process: its host built from the environment, then the Runtime API loop; each invocation (the
/// hourly schedule's event) runs one report.
/// </summary>
public static class Program
{
    public static Task<int> Main() => LambdaRuntime.RunAsync(UsageReporterServices.BuildHost);
}
