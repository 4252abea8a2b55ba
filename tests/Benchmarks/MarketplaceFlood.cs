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
        await using var minting = KeyMintingRig.Start(environment, shared);

        var customers = Enumerable.Range(0, buyers)
            .Select(i => MarketplaceCustomer.FromLicense(
                "9" + (10_000_000_000 + i).ToString(CultureInfo.InvariantCulture),
                $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}"))
            .ToList();
        var clock = Stopwatch.StartNew();
        var granted = await SignupFlood.EvenlyAsync(clock, buyers, spread, async (i, ct) =>
        {
            var licensed = new SubscriptionEvent(
                SubscriptionAction.SubscribeSuccess, customers[i], OfflineEnvironment.MarketplaceProductCode, DateTimeOffset.UtcNow, $"flood-{i}", NotificationSource.EventBridge);
            await events.GetRequiredService<ApplySubscriptionEvent>().ExecuteAsync(licensed, ct);
        }, cancellationToken);
        var started = DateTimeOffset.UtcNow - clock.Elapsed;
        var grantsTook = clock.Elapsed;
        await minting.Source.WhenDrainedAsync(TimeSpan.FromMinutes(20), cancellationToken);
        return await SignupFlood.CheckAsync(
            environment,
            ledger,
            [.. customers.Select(c => (c.SubscriberId, c.ApiKeyName))],
            environment.MarketplaceUsagePlanId,
            granted,
            grantsTook,
            started,
            minting.ImportsBefore,
            minting.AcceptedBefore,
            minting.Source.Invocations,
            cancellationToken);
    }
}
