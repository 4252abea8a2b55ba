using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Emulators;
using Monetization.Portal.Hosting;
using Monetization.SubscriptionEvents;

namespace Monetization.Sandbox;

/// <summary>
/// The offline sandbox: moto_server, the Stripe emulator and the Portal wired to them, on this machine only, with a
/// mailbox page for the e-mails the Portal sends.
/// Runs until Ctrl+C or SIGTERM, then stops every process it started.
/// </summary>
public static class SandboxProgram
{
    /// <summary>The sandbox's usage plans: low enough that a person can see the 429 with curl.</summary>
    public const double ThrottleRate = 5;

    public const int ThrottleBurst = 10;

    public const long DailyQuota = 1000;

    /// <summary>The sandbox's free plan: a few calls, so its 429 and the move to a paid plan are quick to see.</summary>
    public const long FreeMonthlyQuota = 20;

    public static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        return await RunAsync(args, Console.Out, Console.Error, stop.Token);
    }

    /// <summary>Starts everything, prints where it is, and runs until <paramref name="stop"/> is cancelled.</summary>
    /// <returns>0 after an orderly stop; 2 when the arguments cannot be used (one line on <paramref name="error"/>).</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken stop)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var (port, problem) = PortFrom(args);
        if (problem is not null)
        {
            await error.WriteLineAsync(problem);
            return 2;
        }

        await using var environment = await OfflineEnvironment.StartAsync(new UsagePlanLimits(ThrottleRate, ThrottleBurst, DailyQuota, FreeMonthlyQuota), stop);
        var portalUrl = $"http://127.0.0.1:{(port ?? FreePort.Next()).ToString(CultureInfo.InvariantCulture)}";
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(environment.PortalConfiguration());
            builder.WebHost.UseUrls(portalUrl);
        });
        await portal.StartAsync(stop);

        // Marketplace sends buyers to the Portal's landing and its subscription events to the SubscriptionEvents
        // function, here run in process with the container and validation its Lambda process starts with.
        await using var subscriptionEvents = SubscriptionEventsServices.Build(
            new ConfigurationBuilder().AddInMemoryCollection(environment.SubscriptionEventsConfiguration()).Build(),
            logging => logging.AddJsonConsole(o => o.IncludeScopes = false));
        var function = subscriptionEvents.GetRequiredService<Function>();
        environment.Marketplace.LandingUrl = new Uri(portalUrl + "/marketplace");
        environment.AccountPageUrl = new Uri(portalUrl + "/account");
        environment.Marketplace.EventSink = function.ProcessAsync;

        // Stripe's webhook endpoint, as an API owner adds it in the dashboard: the emulator delivers its events there.
        environment.Stripe.WebhookUrl = new Uri(portalUrl + "/stripe/webhook");

        await using var control = await SandboxControl.StartAsync(environment, stop);

        // One AWS endpoint for every service: moto behind the proxy that also answers what moto lacks (GetUsage).
        await output.WriteLineAsync($"Portal: {portalUrl}");
        await output.WriteLineAsync($"AWS endpoint: {environment.ApiGateway.Endpoint}");
        if (args.Contains("--api-gateway-quotas", StringComparer.Ordinal))
        {
            // API Gateway's fixed control-plane quotas (CreateApiKey 5/s, 10/s in total, burst 40, ...) as production has them.
            environment.Quotas.Enforced = true;
            await output.WriteLineAsync("API Gateway control-plane quotas: enforced (429 TooManyRequestsException over them)");
        }

        await output.WriteLineAsync($"Stripe endpoint: {environment.Stripe.Endpoint} (webhooks to {environment.Stripe.WebhookUrl})");
        await output.WriteLineAsync($"Marketplace simulator: {environment.Marketplace.Endpoint}");
        await output.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"Demo API: {new Uri(environment.Usage.DemoApiEndpoint, $"/{OfflineEnvironment.ApiStage}/")} (usage plans: {ThrottleRate} requests/s, burst {ThrottleBurst}, {DailyQuota} a day per key; the free plan {FreeMonthlyQuota} a month)"));
        await output.WriteLineAsync($"Sandbox control: {control.Endpoint}");
        await output.WriteLineAsync($"Mailbox: {control.Mailbox}");
        await output.WriteLineAsync("Press Ctrl+C to stop.");

        try
        {
            await Task.Delay(Timeout.Infinite, stop);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C or SIGTERM: fall through to an orderly shutdown.
        }

        await portal.StopAsync(CancellationToken.None);
        return 0;
    }

    /// <returns>The port asked for (null: any free one), or the one line that says why it cannot be used.</returns>
    private static (int? Port, string? Problem) PortFrom(string[] args)
    {
        var index = Array.IndexOf(args, "--port");
        if (index < 0)
        {
            return (null, null);
        }

        if (index + 1 >= args.Length || !int.TryParse(args[index + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            return (null, "--port takes a TCP port number from 1 to 65535.");
        }

        // Checked before anything starts: a busy port found by the Portal would surface as a stack trace after the set-up.
        try
        {
            using var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
        }
        catch (SocketException)
        {
            return (null, $"Port {port.ToString(CultureInfo.InvariantCulture)} is already in use on 127.0.0.1: stop what holds it, pick another with --port, or leave --port out to take a free one.");
        }

        return (port, null);
    }
}
