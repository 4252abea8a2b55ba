using Microsoft.Extensions.DependencyInjection;
using Monetization.Core.Usage;
using Monetization.UsageReporter;

// One reporter run as a plain process: the Lambda host replaces this file with the runtime loop and calls the same flow.
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

await using var services = UsageReporterServices.BuildFromEnvironment();
var summary = await services.GetRequiredService<ReportUsage>().RunAsync(stop.Token);
Console.Out.WriteLine(UsageReportOutput.SummaryLine(summary));
Console.Out.WriteLine(UsageReportOutput.EmbeddedMetrics(summary, services.GetRequiredService<TimeProvider>().GetUtcNow()));
return summary.Failures == 0 ? 0 : 1;
