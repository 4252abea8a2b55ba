using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Monetization.Emulators;
using Monetization.Portal.Hosting;

namespace Monetization.Benchmarks;

/// <summary>
/// <c>/register</c> latency with a fixed delay injected on every API Gateway and Stripe call (DynamoDB at moto's own
/// speed), compared with four sequential calls of that delay — what a signup that calls its dependencies one after
/// another would need at least.
/// </summary>
public static class RegisterLatency
{
    public static async Task<int> Main(string[] args)
    {
        if (args is ["usage", ..])
        {
            return await UsageReportBenchmark.RunAsync(args);
        }

        var samples = Option(args, "--samples", 100);
        var delayMs = Option(args, "--delay-ms", 50);
        var warmup = Option(args, "--warmup", 10);
        var cancellationToken = CancellationToken.None;

        await using var environment = await OfflineEnvironment.StartAsync(cancellationToken);
        var url = $"http://127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}";
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(environment.PortalConfiguration());
            builder.Configuration["Monetization:RegisterPermitsPerMinute"] = "100000";
            builder.WebHost.UseUrls(url);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await portal.StartAsync(cancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(url) };

        for (var i = 0; i < warmup; i++)
        {
            await RegisterAsync(http, $"warmup-{i}@example.com", cancellationToken);
        }

        var unloaded = await MeasureAsync(http, "plain", samples, cancellationToken);
        environment.ApiGateway.Faults.AddLatency(TimeSpan.FromMilliseconds(delayMs));
        environment.Stripe.Faults.AddLatency(TimeSpan.FromMilliseconds(delayMs));
        var delayed = await MeasureAsync(http, "delayed", samples, cancellationToken);

        var sequential = 4.0 * delayMs;
        Console.WriteLine($"samples per series: {samples}; injected delay: {delayMs} ms on every API Gateway and Stripe call");
        Console.WriteLine($"no injected delay:   p50 {unloaded.P50:0.0} ms  p95 {unloaded.P95:0.0} ms");
        Console.WriteLine($"with injected delay: p50 {delayed.P50:0.0} ms  p95 {delayed.P95:0.0} ms");
        Console.WriteLine($"4 sequential calls:  {sequential:0} ms  ->  p50 ratio {delayed.P50 / sequential:0.00}, p95 ratio {delayed.P95 / sequential:0.00}");
        // moto's own time per call (DynamoDB and API Gateway, tens of ms on a small machine) is in both series; the
        // difference is what the injected delay costs, i.e. how many dependent hops the flow really makes.
        var added = delayed.P50 - unloaded.P50;
        Console.WriteLine($"p50 added by the delay: {added:0.0} ms = {added / delayMs:0.00} dependent hops (sequential: 4.00)");
        Console.WriteLine($"target p50 <= 125 ms: {(delayed.P50 <= 125 ? "met" : "missed")}");
        return 0;
    }

    private static async Task<(double P50, double P95)> MeasureAsync(HttpClient http, string series, int samples, CancellationToken cancellationToken)
    {
        var timings = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await RegisterAsync(http, $"{series}-{i}@example.com", cancellationToken);
            timings.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        timings.Sort();
        return (Percentile(timings, 0.50), Percentile(timings, 0.95));
    }

    private static async Task RegisterAsync(HttpClient http, string email, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/register", new { email, firstname = "Bench", lastname = "Mark" }, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Created)
        {
            throw new InvalidOperationException($"Registration of {email} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }
}
