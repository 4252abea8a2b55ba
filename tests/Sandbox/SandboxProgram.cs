using System.Globalization;
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
/// The offline sandbox: moto_server, the Stripe emulator and the Portal wired to them, on this machine only.
/// Runs until Ctrl+C or SIGTERM, then stops every process it started.
/// </summary>
public static class SandboxProgram
{
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

        var port = PortFrom(args) ?? FreePort.Next();
        await using var environment = await OfflineEnvironment.StartAsync(stop.Token);
        var portalUrl = $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}";
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(environment.PortalConfiguration());
            builder.WebHost.UseUrls(portalUrl);
        });
        await portal.StartAsync(stop.Token);

        // Marketplace sends buyers to the Portal's landing and its subscription events to the SubscriptionEvents
        // function, here run in process with the container and validation its Lambda process starts with.
        await using var subscriptionEvents = SubscriptionEventsServices.Build(
            new ConfigurationBuilder().AddInMemoryCollection(environment.SubscriptionEventsConfiguration()).Build(),
            logging => logging.AddJsonConsole(o => o.IncludeScopes = false));
        var function = subscriptionEvents.GetRequiredService<Function>();
        environment.Marketplace.LandingUrl = new Uri(portalUrl + "/marketplace");
        environment.Marketplace.EventSink = function.ProcessAsync;

        // Stripe's webhook endpoint, as an API owner adds it in the dashboard: the emulator delivers its events there.
        environment.Stripe.WebhookUrl = new Uri(portalUrl + "/stripe/webhook");

        await using var control = await SandboxControl.StartAsync(environment, stop.Token);

        Console.WriteLine($"Portal: {portalUrl}");
        Console.WriteLine($"AWS endpoint: {environment.Moto.Endpoint}");
        Console.WriteLine($"Stripe endpoint: {environment.Stripe.Endpoint} (webhooks to {environment.Stripe.WebhookUrl})");
        Console.WriteLine($"Marketplace simulator: {environment.Marketplace.Endpoint}");
        Console.WriteLine($"Demo API: {new Uri(environment.Usage.DemoApiEndpoint, $"/{OfflineEnvironment.ApiStage}/")}");
        Console.WriteLine($"Sandbox control: {control.Endpoint}");
        Console.WriteLine("Press Ctrl+C to stop.");

        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C or SIGTERM: fall through to an orderly shutdown.
        }

        await portal.StopAsync(CancellationToken.None);
        return 0;
    }

    private static int? PortFrom(string[] args)
    {
        var index = Array.IndexOf(args, "--port");
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var port) ? port : null;
    }
}
