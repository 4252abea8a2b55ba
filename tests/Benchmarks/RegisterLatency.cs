using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Monetization.Aws.Ledger;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Portal.Hosting;

namespace Monetization.Benchmarks;

/// <summary>
/// <c>/register</c> latency (a sign-in link asked for: the link counters, the link and the SES call) in three series:
/// the emulators' own speed; a fixed delay injected on every API Gateway and Stripe call; and that delay plus a small
/// one on every DynamoDB call. The difference to the first series, divided by the delay, is how many dependent hops to
/// API Gateway and Stripe a registration really makes (none, since nothing exists before the address is proven). DynamoDB
/// is reached through a proxy that records every call, so the benchmark also counts the ledger round trips of each
/// registration and how many of them ran one after another.
/// </summary>
public static class RegisterLatency
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Contains("--startup"))
        {
            var compare = Array.IndexOf(args, "--compare") is var at and >= 0 && at + 1 < args.Length ? Path.GetFullPath(args[at + 1]) : null;
            return await StartupLatency.RunAsync(Option(args, "--runs", 10), compare, CancellationToken.None);
        }

        if (args is ["usage", ..])
        {
            return await UsageReportBenchmark.RunAsync(args);
        }

        if (args is ["signups", ..])
        {
            await using var flood = await OfflineEnvironment.StartAsync(CancellationToken.None);
            var floodLedger = Array.IndexOf(args, "--ledger") is var at && at >= 0 && at + 1 < args.Length && args[at + 1] == "moto" ? null : new MemorySubscriberLedger();
            var (count, over) = (Option(args, "--signups", 1000), TimeSpan.FromSeconds(Option(args, "--over-seconds", 60)));
            var marketplace = Array.IndexOf(args, "--channel") is var channel && channel >= 0 && channel + 1 < args.Length && args[channel + 1] == "marketplace";
            var result = marketplace
                ? await MarketplaceFlood.RunAsync(flood, count, over, floodLedger, CancellationToken.None)
                : await SignupFlood.RunAsync(flood, count, over, floodLedger, CancellationToken.None, reportKeys: Option(args, "--report-keys", 0));
            Console.WriteLine(result.Summary());
            foreach (var problem in result.Problems.Take(10))
            {
                Console.WriteLine($"  {problem}");
            }

            return result.Problems.Count == 0 && result.Refused == 0 && result.Percentile(0.95) <= TimeSpan.FromSeconds(60) ? 0 : 1;
        }

        var samples = Option(args, "--samples", 100);
        var delayMs = Option(args, "--delay-ms", 50);
        var ledgerDelayMs = Option(args, "--ledger-delay-ms", 5);
        var warmup = Option(args, "--warmup", 10);
        var cancellationToken = CancellationToken.None;

        await using var environment = await OfflineEnvironment.StartAsync(cancellationToken);
        await using var dynamoDb = await FaultProxy.StartAsync(environment.Moto.Endpoint, cancellationToken);
        var url = $"http://127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}";
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(environment.PortalConfiguration());
            builder.Configuration["Monetization:RegisterPermitsPerMinute"] = "100000";
            // API Gateway keeps its own endpoint (Aws:ApiGatewayServiceUrl); what is left on this one is DynamoDB.
            builder.Configuration["Aws:ServiceUrl"] = dynamoDb.Endpoint.ToString();
            builder.WebHost.UseUrls(url);
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        });
        await portal.StartAsync(cancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(url) };

        for (var i = 0; i < warmup; i++)
        {
            await RegisterAsync(http, $"warmup-{i}@example.com", cancellationToken);
        }

        dynamoDb.RecordExchanges = true;
        var delay = TimeSpan.FromMilliseconds(delayMs);
        var ledgerDelay = TimeSpan.FromMilliseconds(ledgerDelayMs);
        var series = new SeriesRecorder[]
        {
            new("no injected delay", TimeSpan.Zero, TimeSpan.Zero),
            new($"{delayMs} ms on API Gateway and Stripe", delay, TimeSpan.Zero),
            new($"{delayMs} ms on those + {ledgerDelayMs} ms on DynamoDB", delay, ledgerDelay),
        };

        // Interleaved, so whatever grows during the run weighs on every series alike instead of on the last one. The
        // ledger is emptied after each sample (untimed): moto copies the whole table for every item of a
        // TransactWriteItems, so its time would grow with the table, which DynamoDB's does not.
        using var ledger = environment.DynamoDb();
        for (var i = 0; i < samples; i++)
        {
            for (var s = 0; s < series.Length; s++)
            {
                var current = series[s];
                SetLatency(environment.ApiGateway.Faults, current.Delay);
                SetLatency(environment.Stripe.Faults, current.Delay);
                SetLatency(dynamoDb.Faults, current.LedgerDelay);
                var before = dynamoDb.Exchanges.Count;
                var stopwatch = Stopwatch.StartNew();
                await RegisterAsync(http, $"series{s}-{i}@example.com", cancellationToken);
                current.Add(stopwatch.Elapsed.TotalMilliseconds, dynamoDb.Exchanges.Skip(before).ToList());
                await EmptyLedgerAsync(ledger, cancellationToken);
            }
        }

        var plain = series[0].Summarize();
        var delayed = series[1].Summarize();
        var ledgerDelayed = series[2].Summarize();

        Console.WriteLine($"samples per series: {samples}; injected: {delayMs} ms per API Gateway and Stripe call, then also {ledgerDelayMs} ms per DynamoDB call");
        Console.WriteLine("hops = (series - no delay) / API Gateway+Stripe delay, at the same percentile (the flow's design: 0, nothing exists before the address is proven)");
        Console.WriteLine();
        Console.WriteLine($"{"series",-40} {"p50 ms",8} {"p95 ms",8} {"hops p50",9} {"hops p95",9} {"ledger calls",13} {"sequential",11} {"ledger call p50 ms",19}");
        foreach (var recorder in series)
        {
            Print(recorder.Name, recorder.Summarize(), plain, delayMs);
        }

        Console.WriteLine();
        Console.WriteLine("ledger calls / sequential: median per request of DynamoDB round trips, and of those that ran one after another;");
        Console.WriteLine("ledger call p50: median time of one DynamoDB round trip as the proxy in front of moto saw it");
        Console.WriteLine(
            $"targets ({delayMs} ms series): hops p50 <= 0.2 {Verdict((delayed.P50 - plain.P50) / delayMs <= 0.2)}, "
            + $"hops p95 <= 0.5 {Verdict((delayed.P95 - plain.P95) / delayMs <= 0.5)}, "
            + $"sequential ledger round trips <= 3 {Verdict(Math.Max(plain.SequentialLedger, Math.Max(delayed.SequentialLedger, ledgerDelayed.SequentialLedger)) <= 3)}");
        return 0;
    }

    private static void Print(string name, Series series, Series plain, int delayMs) =>
        Console.WriteLine(
            $"{name,-40} {series.P50,8:0.0} {series.P95,8:0.0} {(series.P50 - plain.P50) / delayMs,9:0.00} {(series.P95 - plain.P95) / delayMs,9:0.00} "
            + $"{series.LedgerCalls,13:0} {series.SequentialLedger,11:0} {series.LedgerCallP50,19:0.0}");

    private static string Verdict(bool met) => met ? "met" : "MISSED";

    private static async Task EmptyLedgerAsync(IAmazonDynamoDB ledger, CancellationToken cancellationToken)
    {
        var items = await ledger.ScanAsync(
            new ScanRequest { TableName = OfflineEnvironment.LedgerTableName, ProjectionExpression = LedgerTable.PartitionKey },
            cancellationToken);
        foreach (var item in items.Items)
        {
            await ledger.DeleteItemAsync(
                new DeleteItemRequest { TableName = OfflineEnvironment.LedgerTableName, Key = new() { [LedgerTable.PartitionKey] = item[LedgerTable.PartitionKey] } },
                cancellationToken);
        }
    }

    private static void SetLatency(FaultInjector faults, TimeSpan delay)
    {
        faults.Clear();
        if (delay > TimeSpan.Zero)
        {
            faults.AddLatency(delay);
        }
    }

    /// <summary>The most round trips of which each began after the previous one ended: what the caller waited for in turn.</summary>
    private static int LongestChain(IEnumerable<ProxiedExchange> exchanges)
    {
        var chain = 0;
        var end = long.MinValue;
        foreach (var exchange in exchanges.OrderBy(e => e.Ended))
        {
            if (exchange.Started >= end)
            {
                chain++;
                end = exchange.Ended;
            }
        }

        return chain;
    }

    private static async Task RegisterAsync(HttpClient http, string email, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync("/register", new { email, firstname = "Bench", lastname = "Mark" }, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"A benchmark registration answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    private sealed record Series(double P50, double P95, int LedgerCalls, int SequentialLedger, double LedgerCallP50);

    private sealed class SeriesRecorder(string name, TimeSpan delay, TimeSpan ledgerDelay)
    {
        private readonly List<double> _timings = [];
        private readonly List<int> _calls = [];
        private readonly List<int> _sequential = [];
        private readonly List<double> _callTimes = [];

        public string Name { get; } = name;

        public TimeSpan Delay { get; } = delay;

        public TimeSpan LedgerDelay { get; } = ledgerDelay;

        public void Add(double milliseconds, IReadOnlyList<ProxiedExchange> ledgerExchanges)
        {
            _timings.Add(milliseconds);
            _calls.Add(ledgerExchanges.Count);
            _sequential.Add(LongestChain(ledgerExchanges));
            _callTimes.AddRange(ledgerExchanges.Select(e => TimeProvider.System.GetElapsedTime(e.Started, e.Ended).TotalMilliseconds));
        }

        public Series Summarize()
        {
            List<double> timings = [.. _timings.Order()];
            List<double> callTimes = [.. _callTimes.Order()];
            List<int> calls = [.. _calls.Order()];
            List<int> sequential = [.. _sequential.Order()];
            return new Series(Percentile(timings, 0.50), Percentile(timings, 0.95), calls[calls.Count / 2], sequential[sequential.Count / 2], Percentile(callTimes, 0.50));
        }
    }
}
