using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;
using Monetization.UsageReporter;

namespace Monetization.Sandbox;

/// <summary>
/// The sandbox's own control API: <c>POST /usage-report</c> runs the usage reporter once, wired as the function wires
/// it, against the sandbox's emulators, and answers the run's JSON summary (the line the function logs); and the
/// mailbox at <c>/mailbox/</c> (<see cref="MailboxPage"/>).
/// </summary>
internal sealed class SandboxControl : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ServiceProvider _reporter;
    private readonly SqsEventSource _keyMinting;

    private SandboxControl(WebApplication app, ServiceProvider reporter, SqsEventSource keyMinting, Uri endpoint)
    {
        _app = app;
        _reporter = reporter;
        _keyMinting = keyMinting;
        Endpoint = endpoint;
    }

    public const string SettleWindow = "00:00:10";

    public const string EndedKeyRetention = "00:02:00";

    public Uri Endpoint { get; }

    /// <summary>The page listing the e-mails SES accepted (<c>messages.json</c> beneath it for programs).</summary>
    public Uri Mailbox => new(Endpoint, MailboxPage.Path);

    public static async Task<SandboxControl> StartAsync(OfflineEnvironment environment, CancellationToken cancellationToken)
    {
        var reporter = new ServiceCollection()
            .AddLogging(logging => logging.AddJsonConsole(o => o.IncludeScopes = false))
            .AddUsageReporter(new ConfigurationBuilder()
                .AddInMemoryCollection(environment.UsageReporterConfiguration())

                // Seconds, not the hour production needs for GetUsage to catch up: a revoked key's last units are
                // billed, and the key leaves its plan, at the first report ten seconds after access ended; minutes,
                // not 30 days, before a settled key of an ended subscription is deleted.
                .AddInMemoryCollection(new Dictionary<string, string?> { ["Usage:SettleWindow"] = SettleWindow, ["Usage:EndedKeyRetention"] = EndedKeyRetention })
                .Build())
            .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        UsageReporterServices.ValidateNow(reporter);
        var port = FreePort.Next();
        var app = LoopbackServer.CreateApp(port);
        app.MapPost("/usage-report", async (CancellationToken ct) =>
        {
            var summary = await reporter.GetRequiredService<ReportUsage>().RunAsync(ct);
            return Results.Text(UsageReportOutput.SummaryLine(summary), "application/json");
        });
        app.MapPost("/reconcile", async (string? day, CancellationToken ct) =>
        {
            var flow = reporter.GetRequiredService<ReconcileUsage>();
            if (day is not null && !DateOnly.TryParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                return Results.BadRequest("day is YYYY-MM-DD");
            }

            var closed = day is null ? flow.LastClosedDay : DateOnly.ParseExact(day, "yyyy-MM-dd", CultureInfo.InvariantCulture);
            if (closed > flow.LastClosedDay)
            {
                return Results.BadRequest($"only a closed day can be reconciled: {flow.LastClosedDay:yyyy-MM-dd} or earlier");
            }

            var report = await flow.RunAsync(closed, ct);
            return Results.Text(ReconciliationOutput.Table(report) + "\n" + ReconciliationOutput.SummaryLine(report) + "\n", "text/plain");
        });
        app.MapMailbox(environment.Mailbox);
        await app.StartAsync(cancellationToken);
        // The key minting function: the same program on the key minting queue's events, as Lambda's SQS mapping feeds it.
        var keyMinting = environment.KeyMinting(async (payload, ct) =>
        {
            await using var answer = await UsageReporterServices.InvokeAsync(reporter, new MemoryStream(System.Text.Encoding.UTF8.GetBytes(payload)), ct);
            using var reader = new StreamReader(answer);
            return await reader.ReadToEndAsync(ct);
        });
        return new SandboxControl(app, reporter, keyMinting, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _keyMinting.DisposeAsync();
        await _reporter.DisposeAsync();
    }
}
