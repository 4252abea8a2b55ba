using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Aws.Ledger;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Portal.Hosting;
using Monetization.UsageReporter;
using Stripe;

namespace Monetization.Benchmarks;

/// <summary>What a flood of signups came to: per subscriber the time from access starting to its key being recorded.</summary>
/// <param name="Latencies">Per subscriber, from the grant (the paid checkout's activation) to the key recorded, in order of the grants.</param>
/// <param name="ControlPlaneCalls">API Gateway control-plane calls the stack made (accepted by the quota stand-in).</param>
/// <param name="Refused">Calls the stand-in answered 429 because they were over a quota.</param>
/// <param name="Problems">Subscribers without exactly one working key of their own, described.</param>
/// <param name="GrantsTook">From the first grant to the last one done (the flood's own length).</param>
public sealed record SignupFloodResult(
    IReadOnlyList<TimeSpan> Latencies,
    TimeSpan GrantsTook,
    TimeSpan ToLastKey,
    int ControlPlaneCalls,
    int Refused,
    int Imports,
    int Invocations,
    IReadOnlyList<string> Problems)
{
    /// <summary>How long the usage report that ran during the flood took (zero: none ran).</summary>
    public TimeSpan ReportTook { get; init; }

    /// <summary>GetUsage pages served during the flood (the report's).</summary>
    public int ReportUsagePages { get; init; }

    public TimeSpan Percentile(double p)
    {
        var sorted = Latencies.Order().ToList();
        return sorted.Count == 0 ? TimeSpan.Zero : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    public double CallsPerKey => Latencies.Count == 0 ? 0 : (double)ControlPlaneCalls / Latencies.Count;

    public string Summary() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Latencies.Count} signups: p50 {Percentile(0.5).TotalSeconds:F2} s, p95 {Percentile(0.95).TotalSeconds:F2} s, max {Percentile(1).TotalSeconds:F2} s to a working key; grants over {GrantsTook.TotalSeconds:F1} s, last key {ToLastKey.TotalSeconds:F1} s after the first; {ControlPlaneCalls} control-plane calls ({CallsPerKey:F3} a key, {Imports} imports in {Invocations} invocations), {Refused} over a quota; {Problems.Count} problems{(ReportTook > TimeSpan.Zero ? $"; the usage report ran alongside in {ReportTook.TotalSeconds:F1} s ({ReportUsagePages} GetUsage pages)" : string.Empty)}");
}

/// <summary>
/// A launch's flood of verified signups against API Gateway's fixed control-plane quotas (the stand-in enforcing them):
/// the Portal's own Stripe flow grants access to each subscriber whose checkout was paid, spread over a time, and the
/// key minting function (the usage reporter's program fed by the queue, as Lambda's SQS mapping feeds it) makes the
/// keys. At the end every subscriber must hold exactly one key of its own, enabled in the plan, that the demo API
/// serves, and no call may have gone over a quota.
/// </summary>
public static class SignupFlood
{
    /// <param name="ledger">The subscriber ledger the Portal and the key minting function share; null: the DynamoDB one, in moto.</param>
    /// <param name="reportKeys">
    /// When above 0, that many keys in the Stripe plan have usage today, and the hourly usage report runs over them a
    /// third of the way into the flood, sharing the control-plane budget with it (GetUsage pages, the key count).
    /// </param>
    public static async Task<SignupFloodResult> RunAsync(
        OfflineEnvironment environment, int signups, TimeSpan spread, ISubscriberLedger? ledger, CancellationToken cancellationToken, int reportKeys = 0)
    {
        ArgumentNullException.ThrowIfNull(environment);
        environment.Quotas.Enforced = true;
        using var dynamoDb = environment.DynamoDb();
        ledger ??= new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName);
        var shared = ledger;
        var subscribers = await PaidSubscribersAsync(environment, ledger, signups, cancellationToken);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        for (var i = 0; i < reportKeys; i++)
        {
            environment.Usage.Count(environment.StripeUsagePlanId, $"reported{i:D8}", today, (i % 50) + 1);
        }

        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(environment.PortalConfiguration());
            builder.Configuration["Monetization:PaymentCollection"] = "Invoice";
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next().ToString(CultureInfo.InvariantCulture)}");
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Services.AddSingleton(shared);
        });
        await portal.StartAsync(cancellationToken);
        await using var minting = KeyMintingRig.Start(environment, shared);

        // Grants arrive evenly over the spread, each as the checkout's return or webhook makes it.
        var clock = Stopwatch.StartNew();
        var usagePagesBefore = environment.Usage.GetUsageRequests;
        var report = reportKeys > 0 ? RunReportAsync(minting.Reporter, spread / 3, cancellationToken) : Task.FromResult(TimeSpan.Zero);
        var granted = await EvenlyAsync(clock, signups, spread, async (i, ct) =>
        {
            using var scope = portal.Services.CreateScope();
            var record = subscribers[i];
            await scope.ServiceProvider.GetRequiredService<SubscriptionAccess>().FollowAsync(
                record, new BillingSubscription(record.StripeSubscriptionId!, record.StripeCustomerId!, BillingSubscriptionStatus.Active), ct);
        }, cancellationToken);
        var started = DateTimeOffset.UtcNow - clock.Elapsed;

        var grantsTook = clock.Elapsed;
        await minting.Source.WhenDrainedAsync(TimeSpan.FromMinutes(10), cancellationToken);
        var reportTook = await report;
        var named = subscribers.Select(r => (r.Id, KeyName: $"stripe:{r.Id["stripe#".Length..]}")).ToList();
        var result = await CheckAsync(
            environment, ledger, named, environment.StripeUsagePlanId, granted, grantsTook, started, minting.ImportsBefore, minting.AcceptedBefore, minting.Source.Invocations, cancellationToken);
        return result with { ReportTook = reportTook, ReportUsagePages = environment.Usage.GetUsageRequests - usagePagesBefore };
    }

    /// <summary>
    /// Runs <paramref name="grant"/> for 0 to <paramref name="count"/> - 1, started evenly over <paramref name="spread"/>
    /// on <paramref name="clock"/>, up to 16 at once.
    /// </summary>
    /// <returns>When each grant started, on <paramref name="clock"/>.</returns>
    internal static async Task<TimeSpan[]> EvenlyAsync(
        Stopwatch clock, int count, TimeSpan spread, Func<int, CancellationToken, Task> grant, CancellationToken cancellationToken)
    {
        var granted = new TimeSpan[count];
        var interval = spread / Math.Max(1, count);
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var due = interval * i;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, ct);
            }

            granted[i] = clock.Elapsed;
            await grant(i, ct);
        });
        return granted;
    }

    /// <summary>One hourly report, started after <paramref name="after"/>: how long it took.</summary>
    private static async Task<TimeSpan> RunReportAsync(IServiceProvider reporter, TimeSpan after, CancellationToken cancellationToken)
    {
        await Task.Delay(after, cancellationToken);
        var clock = Stopwatch.StartNew();
        var summary = await reporter.GetRequiredService<Monetization.Core.Usage.ReportUsage>().RunAsync(cancellationToken);
        return summary.Failures == 0 ? clock.Elapsed : throw new InvalidOperationException($"The usage report during the flood failed {summary.Failures} times.");
    }

    /// <summary>
    /// Every subscriber must hold exactly one key of its own (by <c>KeyName</c>), recorded, enabled, in
    /// <paramref name="usagePlanId"/> and served by the demo API; the latency is from its grant to the key recorded.
    /// </summary>
    internal static async Task<SignupFloodResult> CheckAsync(
        OfflineEnvironment environment,
        ISubscriberLedger ledger,
        IReadOnlyList<(string Id, string KeyName)> subscribers,
        string usagePlanId,
        TimeSpan[] granted,
        TimeSpan grantsTook,
        DateTimeOffset started,
        int importsBefore,
        int acceptedBefore,
        int invocations,
        CancellationToken cancellationToken)
    {
        var keys = await environment.ApiKeysAsync(cancellationToken);
        var plan = (await environment.UsagePlanKeyIdsAsync(usagePlanId, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var problems = new List<string>();
        var latencies = new List<TimeSpan>();
        var last = TimeSpan.Zero;
        using var demo = new HttpClient { BaseAddress = environment.ApiBaseUrl };
        for (var i = 0; i < subscribers.Count; i++)
        {
            var record = await ledger.GetAsync(subscribers[i].Id, cancellationToken);
            var named = keys.Where(k => k.Name == subscribers[i].KeyName).ToList();
            if (record?.ApiKeyId is not { } keyId || named.Count != 1 || named[0].Id != keyId || !named[0].Enabled || !plan.Contains(keyId))
            {
                problems.Add($"{subscribers[i].Id}: recorded {record?.ApiKeyId ?? "none"}, {named.Count} keys named for it");
                continue;
            }

            using var request = new HttpRequestMessage(HttpMethod.Get, "hello");
            request.Headers.Add("x-api-key", named[0].Value);
            using var response = await demo.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                problems.Add($"{subscribers[i].Id}: the demo API answered {(int)response.StatusCode} to its key");
            }

            // Recorded at the record's last write (the key is the last thing written to it).
            var recordedAt = record.UpdatedAt - started;
            latencies.Add(recordedAt - granted[i]);
            last = recordedAt > last ? recordedAt : last;
        }

        return new SignupFloodResult(
            latencies,
            grantsTook,
            last,
            environment.Quotas.Accepted.Values.Sum() - acceptedBefore,
            environment.Quotas.Refused.Values.Sum(),
            environment.KeyImport.Imports - importsBefore,
            invocations,
            problems);
    }

    /// <summary>Subscribers whose address is proven and whose checkout was paid: a Stripe customer each, no key yet.</summary>
    private static async Task<IReadOnlyList<Subscriber>> PaidSubscribersAsync(OfflineEnvironment environment, ISubscriberLedger ledger, int count, CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var stripe = environment.StripeClient(http);
        var now = DateTimeOffset.UtcNow;
        var subscribers = new Subscriber[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var customer = await stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "Flood" }, new RequestOptions { IdempotencyKey = $"flood-{Guid.NewGuid():N}" }, ct);
            var record = new Subscriber
            {
                Id = $"stripe#{Guid.NewGuid():N}",
                Channel = Channel.Stripe,
                Status = SubscriberStatus.Pending,
                StripeCustomerId = customer.Id,
                StripeSubscriptionId = "sub_" + Guid.NewGuid().ToString("N")[..14],
                Registered = true,
                CreatedAt = now,
                UpdatedAt = now,
            };
            if (!await ledger.TryCreateAsync(record, ct))
            {
                throw new InvalidOperationException($"{record.Id} exists already.");
            }

            subscribers[i] = (await ledger.GetAsync(record.Id, ct))!;
        });
        return subscribers;
    }
}
