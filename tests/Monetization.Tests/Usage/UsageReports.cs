using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.UsageReporter;

namespace Monetization.Tests.Usage;

/// <summary>One run of the usage reporter over an environment, wired as the function wires it.</summary>
internal static class UsageReports
{
    /// <param name="settleWindow">How long an ended key settles; zero lets the next run that finds nothing to bill take it out of its plan.</param>
    /// <param name="time">The reporter's clock; the system's when not given.</param>
    /// <param name="settings">More reporter settings (<c>Usage:*</c>), over the environment's.</param>
    public static async Task<UsageReportSummary> RunOnceAsync(
        OfflineEnvironment environment, TimeSpan settleWindow, TimeProvider? time = null, IReadOnlyDictionary<string, string?>? settings = null)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.UsageReporterConfiguration())
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Usage:SettleWindow"] = settleWindow.ToString("c", CultureInfo.InvariantCulture) })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton(time ?? TimeProvider.System);
        await using var reporter = services.AddUsageReporter(configuration).BuildServiceProvider();
        return await reporter.GetRequiredService<ReportUsage>().RunAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>One reconciliation of a closed day over an environment, wired as the function wires it.</summary>
    public static async Task<ReconciliationReport> ReconcileAsync(OfflineEnvironment environment, DateOnly day)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(environment.UsageReporterConfiguration()).Build();
        var services = new ServiceCollection().AddLogging();
        await using var reporter = services.AddUsageReporter(configuration).BuildServiceProvider();
        return await reporter.GetRequiredService<ReconcileUsage>().RunAsync(day, TestContext.Current.CancellationToken);
    }
}
