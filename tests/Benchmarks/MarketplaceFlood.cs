using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Emulators;
using Monetization.Emulators.Marketplace;
using Monetization.SubscriptionEvents;
using Monetization.UsageReporter;

namespace Monetization.Benchmarks;

/// <summary>
/// A Marketplace listing going live: buyers of a new-style product (known by AWS account + license) confirmed by
/// <c>License Updated - Manufacturer</c> events spread over a time, each applied by the SubscriptionEvents flow, which
/// asks the key minting queue for the buyer's key; the key minting function makes them. At the end every buyer must
/// hold exactly one key, enabled in the Marketplace plan, that the demo API serves, and no call may have gone over a
/// quota.
/// </summary>
public static class MarketplaceFlood
{
    public static async Task<SignupFloodResult> RunAsync(
        OfflineEnvironment environment, int buyers, TimeSpan spread, ISubscriberLedger? ledger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        environment.Quotas.Enforced = true;
        using var dynamoDb = environment.DynamoDb();
        ledger ??= new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName);
        var shared = ledger;
        await using var events = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddSubscriptionEvents(new ConfigurationBuilder().AddInMemoryCollection(environment.SubscriptionEventsConfiguration()).Build())
            .AddSingleton(shared)
            .BuildServiceProvider();
        await using var reporter = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddUsageReporter(new ConfigurationBuilder().AddInMemoryCollection(environment.UsageReporterConfiguration()).Build())
            .AddSingleton(shared)
            .BuildServiceProvider();
        UsageReporterServices.ValidateNow(reporter);
        var importsBefore = environment.KeyImport.Imports;
        var acceptedBefore = environment.Quotas.Accepted.Values.Sum();
        await using var minting = environment.KeyMinting(async (payload, ct) =>
        {
            await using var answer = await UsageReporterServices.InvokeAsync(reporter, new MemoryStream(Encoding.UTF8.GetBytes(payload)), ct);
            using var reader = new StreamReader(answer);
            return await reader.ReadToEndAsync(ct);
        });

        var customers = Enumerable.Range(0, buyers)
            .Select(i => MarketplaceCustomer.FromLicense(
                "9" + (10_000_000_000 + i).ToString(CultureInfo.InvariantCulture),
                $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}"))
            .ToList();
        var clock = Stopwatch.StartNew();
        var granted = new TimeSpan[buyers];
        var interval = spread / Math.Max(1, buyers);
        await Parallel.ForEachAsync(Enumerable.Range(0, buyers), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            var due = interval * i;
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, ct);
            }

            granted[i] = clock.Elapsed;
            var licensed = new SubscriptionEvent(
                SubscriptionAction.SubscribeSuccess, customers[i], OfflineEnvironment.MarketplaceProductCode, DateTimeOffset.UtcNow, $"flood-{i}", NotificationSource.EventBridge);
            await events.GetRequiredService<ApplySubscriptionEvent>().ExecuteAsync(licensed, ct);
        });
        var started = DateTimeOffset.UtcNow - clock.Elapsed;
        var grantsTook = clock.Elapsed;
        await minting.WhenDrainedAsync(TimeSpan.FromMinutes(20), cancellationToken);
        return await SignupFlood.CheckAsync(
            environment,
            ledger,
            [.. customers.Select(c => (c.SubscriberId, c.ApiKeyName))],
            environment.MarketplaceUsagePlanId,
            granted,
            grantsTook,
            started,
            importsBefore,
            acceptedBefore,
            minting.Invocations,
            cancellationToken);
    }
}
