using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.UsageReporter;

namespace Monetization.Benchmarks;

/// <summary>
/// One reporter run over N keys with usage today, against the local stand-ins: API Gateway's GetUsage from the usage
/// stand-in, Stripe's v2 meter event stream from the emulator, the ledger either in memory (<c>--ledger memory</c>,
/// the same conditional semantics as the DynamoDB adapter) or in moto (<c>--ledger moto</c>). The reporter runs in a
/// child process of its own, configured from the environment as the function is, so its wall time and peak memory
/// (the kernel's high-water mark of its resident set) are the reporter's alone, not the emulators'. Prints those, the
/// Stripe and AWS requests the run made, and checks every unit arrived exactly once.
/// </summary>
public static class UsageReportBenchmark
{
    private const string ReporterRole = "usage-reporter";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is [_, ReporterRole, ..])
        {
            return await RunReporterAsync(args);
        }

        var keys = Option(args, "--keys", 100_000);
        var ledgerKind = Text(args, "--ledger", "memory");
        var cancellationToken = CancellationToken.None;
        await using var environment = await OfflineEnvironment.StartAsync(cancellationToken);
        var now = DateTimeOffset.UtcNow;
        var today = DateOnly.FromDateTime(now.UtcDateTime);

        Console.WriteLine($"Setting up {keys} keys ({ledgerKind} ledger)...");
        var customers = await CreateCustomersAsync(environment, keys, cancellationToken);
        long expectedUnits = 0;
        for (var i = 0; i < keys; i++)
        {
            var used = (i % 50) + 1;
            expectedUnits += used;
            environment.Usage.Count(environment.StripeUsagePlanId, KeyId(i), today, used);
        }

        var subscribersFile = Path.GetTempFileName();
        await File.WriteAllLinesAsync(subscribersFile, customers.Select((c, i) => $"{KeyId(i)}\t{c}"), cancellationToken);
        if (ledgerKind == "moto")
        {
            using var dynamoDb = environment.DynamoDb();
            var ledger = new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName);
            await Parallel.ForEachAsync(
                Subscribers(customers.Select((c, i) => (KeyId(i), c)), now),
                new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (s, ct) => await ledger.TryCreateAsync(s, ct));
        }

        var stripeBefore = environment.Stripe.Requests.Count;
        var getUsageBefore = environment.Usage.GetUsageRequests;
        string output;
        int exitCode;
        try
        {
            (exitCode, output) = await StartReporterAsync(environment, ledgerKind, subscribersFile, cancellationToken);
        }
        finally
        {
            File.Delete(subscribersFile);
        }

        Console.Write(output);
        var stripeRequests = environment.Stripe.Requests.Skip(stripeBefore).ToList();
        var events = environment.Stripe.MeterEvents;
        var billed = events.Sum(e => e.Value);
        var getUsagePages = environment.Usage.GetUsageRequests - getUsageBefore;
        var report = output.Split('\n').Where(l => l.StartsWith("reporter ", StringComparison.Ordinal)).ToDictionary(l => l.Split(' ')[1], l => l.Split(' ')[2]);
        var wall = double.Parse(report["wall-seconds"], CultureInfo.InvariantCulture);
        var peakMb = double.Parse(report["peak-rss-mb"], CultureInfo.InvariantCulture);
        var dynamoDbRequests = int.Parse(report["dynamodb-requests"], CultureInfo.InvariantCulture);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"keys with usage:        {keys}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"wall time:              {wall:F2} s (target <= 60 s)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"peak memory:            {peakMb:F0} MB resident, reporter process (target <= 256 MB)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Stripe requests:        {stripeRequests.Count} ({string.Join(", ", stripeRequests.GroupBy(r => r.Path).Select(g => $"{g.Count()} {g.Key}"))}; target <= {(keys / 100) + 10})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"AWS requests:           {getUsagePages + dynamoDbRequests} ({getUsagePages} GetUsage pages; DynamoDB: {report["dynamodb"].Replace('_', ' ')})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"units billed / counted: {billed} / {expectedUnits}, {events.Select(e => e.Identifier).Distinct().Count()} distinct identifiers"));
        var met = exitCode == 0 && wall <= 60 && peakMb <= 256 && stripeRequests.Count <= (keys / 100) + 10 && billed == expectedUnits;
        Console.WriteLine(met ? "targets met" : "TARGETS MISSED");
        return met ? 0 : 1;
    }

    /// <summary>This program again, as the reporter, configured the way the function is: from environment variables.</summary>
    private static async Task<(int ExitCode, string Output)> StartReporterAsync(OfflineEnvironment environment, string ledgerKind, string subscribersFile, CancellationToken cancellationToken)
    {
        var host = Environment.ProcessPath ?? throw new InvalidOperationException("The benchmark cannot find its own executable.");
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add("exec");
            start.ArgumentList.Add(typeof(UsageReportBenchmark).Assembly.Location);
        }

        foreach (var argument in new[] { "usage", ReporterRole, "--ledger", ledgerKind, "--subscribers", subscribersFile })
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment.UsageReporterConfiguration())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["Usage__MarketplaceUsagePlanId"] = string.Empty;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("The reporter process did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The child: one run, then its own numbers as <c>reporter name value</c> lines.</summary>
    private static async Task<int> RunReporterAsync(string[] args)
    {
        var ledgerKind = Text(args, "--ledger", "memory");
        var pairs = (await File.ReadAllLinesAsync(Text(args, "--subscribers", string.Empty))).Select(l => l.Split('\t')).Select(p => (p[0], p[1]));
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        CountingUsageLedger? counting = null;
        if (ledgerKind == "memory")
        {
            var customerOf = pairs.ToDictionary(p => p.Item1, p => p.Item2, StringComparer.Ordinal);
            services.AddSingleton<IUsageLedger>(_ => counting = new CountingUsageLedger(new InMemoryUsageLedger(customerOf)));
        }
        else
        {
            services.AddSingleton<IUsageLedger>(sp => counting = new CountingUsageLedger(
                new DynamoDbUsageLedger(sp.GetRequiredService<IAmazonDynamoDB>(), OfflineEnvironment.LedgerTableName)));
        }

        services.AddUsageReporter(configuration);
        await using var provider = services.BuildServiceProvider();
        UsageReporterServices.ValidateNow(provider);
        var reporter = provider.GetRequiredService<ReportUsage>();

        long peakHeap = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peakHeap = Math.Max(peakHeap, GC.GetGCMemoryInfo().HeapSizeBytes);
                await Task.Delay(10, CancellationToken.None);
            }
        });
        var clock = Stopwatch.StartNew();
        var summary = await reporter.RunAsync(CancellationToken.None);
        clock.Stop();
        await sampling.CancelAsync();
        await sampler;
        Console.WriteLine(UsageReportOutput.SummaryLine(summary));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reporter peak-heap-mb {peakHeap / 1048576.0:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reporter wall-seconds {clock.Elapsed.TotalSeconds:F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reporter peak-rss-mb {PeakResidentKilobytes() / 1024.0:F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"reporter dynamodb-requests {counting!.Requests}"));
        Console.WriteLine($"reporter dynamodb {counting.Describe().Replace(' ', '_')}");
        return summary.Failures == 0 ? 0 : 1;
    }

    /// <summary>The kernel's high-water mark of this process's resident set (Linux), what Lambda bills memory by.</summary>
    private static long PeakResidentKilobytes()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Replace("kB", string.Empty, StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);
    }

    private static IEnumerable<Subscriber> Subscribers(IEnumerable<(string KeyId, string CustomerId)> pairs, DateTimeOffset now) =>
        pairs.Select(p => new Subscriber
        {
            Id = $"stripe#{p.KeyId}@example.test",
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Active,
            ApiKeyId = p.KeyId,
            StripeCustomerId = p.CustomerId,
            CreatedAt = now,
            UpdatedAt = now,
        });

    private static string KeyId(int i) => string.Create(CultureInfo.InvariantCulture, $"bk{i:D7}");

    /// <summary>Customers through the emulator's own API (no idempotency keys: setup only, never retried).</summary>
    private static async Task<string[]> CreateCustomersAsync(OfflineEnvironment environment, int count, CancellationToken cancellationToken)
    {
        var ids = new string[count];
        using var http = new HttpClient { BaseAddress = environment.Stripe.Endpoint };
        http.DefaultRequestHeaders.Authorization = new("Bearer", environment.Stripe.SecretKey);
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            using var content = new StringContent($"name=bench{i}", Encoding.UTF8, "application/x-www-form-urlencoded");
            using var response = await http.PostAsync("/v1/customers", content, ct);
            response.EnsureSuccessStatusCode();
            using var document = await System.Text.Json.JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
            ids[i] = document.RootElement.GetProperty("id").GetString()!;
        });
        return ids;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length && int.TryParse(args[index + 1], CultureInfo.InvariantCulture, out var value) ? value : fallback;
    }

    private static string Text(string[] args, string name, string fallback)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : fallback;
    }
}

/// <summary>
/// The ledger's usage side in memory, with the DynamoDB adapter's conditions, for runs moto is too slow for. It holds
/// what DynamoDB would (key to customer, watermarks) and hands out subscriber records as the adapter reads them.
/// </summary>
internal sealed class InMemoryUsageLedger(IReadOnlyDictionary<string, string> customerOfKey) : IUsageLedger
{
    private static readonly DateTimeOffset Created = DateTimeOffset.UnixEpoch;
    private readonly ConcurrentDictionary<UsageDay, UsageWatermark> _watermarks = new();
    private readonly Lock _lock = new();

    public Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, Subscriber>>(apiKeyIds
            .Where(customerOfKey.ContainsKey)
            .Distinct(StringComparer.Ordinal)
            .ToDictionary(
                k => k,
                k => new Subscriber
                {
                    Id = $"stripe#{k}@example.test",
                    Channel = Channel.Stripe,
                    Status = SubscriberStatus.Active,
                    ApiKeyId = k,
                    StripeCustomerId = customerOfKey[k],
                    CreatedAt = Created,
                    UpdatedAt = Created,
                },
                StringComparer.Ordinal));

    public Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Subscriber>>([]);

    public Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<UsageWatermark>>([.. days.Select(d => _watermarks.GetValueOrDefault(d) ?? new UsageWatermark(d, 0, null, null))]);

    public Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        Change(day, w => w.Pending is null && w.Reported == claim.From ? w with { Pending = claim } : null);

    public Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        Change(day, w => w.Pending == claim ? w with { Reported = claim.To, Pending = null, LastReportedAt = claim.Timestamp } : null);

    public Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        Change(day, w => w.Pending == claim ? w with { Pending = null } : null);

    private Task<bool> Change(UsageDay day, Func<UsageWatermark, UsageWatermark?> decide)
    {
        lock (_lock)
        {
            var next = decide(_watermarks.GetValueOrDefault(day) ?? new UsageWatermark(day, 0, null, null));
            if (next is not null)
            {
                _watermarks[day] = next;
            }

            return Task.FromResult(next is not null);
        }
    }
}

/// <summary>Counts the DynamoDB requests <see cref="DynamoDbUsageLedger"/> makes for each call (100 keys a BatchGetItem).</summary>
internal sealed class CountingUsageLedger(IUsageLedger inner) : IUsageLedger
{
    private int _batchGets;
    private int _updates;
    private int _queries;

    public int Requests => _batchGets + _updates + _queries;

    public string Describe() => string.Create(CultureInfo.InvariantCulture, $"{_batchGets} BatchGetItem, {_updates} UpdateItem, {_queries} Query");

    public async Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken)
    {
        var found = await inner.FindSubscribersByApiKeyAsync(apiKeyIds, cancellationToken);
        Interlocked.Add(ref _batchGets, Pages(apiKeyIds.Count) + Pages(found.Count));
        return found;
    }

    public async Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken)
    {
        var found = await inner.FindSettlingAsync(usagePlanId, by, cancellationToken);
        Interlocked.Increment(ref _queries);
        return found;
    }

    public Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _batchGets, Pages(days.Count));
        return inner.GetWatermarksAsync(days, cancellationToken);
    }

    public Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _updates);
        return inner.TryClaimAsync(day, claim, cancellationToken);
    }

    public Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _updates);
        return inner.TryCommitAsync(day, claim, cancellationToken);
    }

    public Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _updates);
        return inner.TryReleaseAsync(day, claim, cancellationToken);
    }

    private static int Pages(int count) => (count + 99) / 100;
}
