using Monetization.Core.Ledger;
using Monetization.Core.Usage;
using Monetization.Emulators.Faults;

namespace Monetization.Tests.Usage;

/// <summary>
/// The daily reconciliation of the Marketplace channel on the real peers: a day of random traffic, metered through a
/// Marketplace outage, agrees with what API Gateway counted and with the records Marketplace accepted; a buyer API
/// Gateway meters itself is explained, not drift; a unit counted and never metered is drift.
/// </summary>
public sealed class MarketplaceReconciliationTests(UsageEnvironmentFixture fixture) : IClassFixture<UsageEnvironmentFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ADayOfRandomTrafficAgreesWithWhatMarketplaceAcceptedAndAUnitNeverMeteredIsDrift()
    {
        // Five hours ago, so the hourly reports the test runs stamp records Marketplace's own clock still takes.
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow.AddHours(-5), Ct);
        var day = world.Today;
        var licensedKey = UsageWorld.NewKeyId();
        var legacyKey = UsageWorld.NewKeyId();
        var licensed = await world.MarketplaceBuyerAsync(licensedKey, legacy: false, subscribedAtMarketplace: true, Ct);
        await world.MarketplaceBuyerAsync(legacyKey, legacy: true, subscribedAtMarketplace: true, Ct);

        // A report an hour (Marketplace takes one record per buyer and hour, for the past six hours): random traffic
        // between them, and Marketplace failing every record of one report.
        var random = new Random(20261204);
        long served = 0;
        for (var report = 0; report < 5; report++)
        {
            var requests = random.Next(0, 40);
            world.CountMarketplace(licensedKey, day, requests);
            world.CountMarketplace(legacyKey, day, 7);
            served += requests;
            if (report == 2)
            {
                fixture.Environment.Marketplace.Faults.Add(new FaultRule { Method = "POST", Status = 500, Count = 50 });
            }

            try
            {
                var summary = await world.Reporter().RunAsync(Ct);
                Assert.True((report == 2) == (summary.Failures > 0), $"report {report} had {summary.Failures} failures");
            }
            finally
            {
                fixture.Environment.Marketplace.Faults.Clear();
            }

            world.Clock.Advance(TimeSpan.FromHours(1));
        }

        await world.Reporter().RunAsync(Ct);
        var accepted = world.MeteredFor(licensed).Sum(m => m.Quantity);

        // Two days on, the day is closed.
        world.Clock.Advance(TimeSpan.FromDays(2));
        var agreed = await world.Resolve<ReconcileUsage>().RunAsync(day, Ct);

        Assert.Equal(served, accepted);
        var row = Assert.Single(agreed.Rows, r => r.KeyIds.Contains(licensedKey));
        Assert.Equal((Channel.Marketplace, (long?)served, served, 0L, (long?)null, 0L, "agrees"), (row.Channel, row.Counted, row.Recorded, row.InFlight, row.Billed, row.Drift, row.Finding));
        var byApiGateway = Assert.Single(agreed.Rows, r => r.KeyIds.Contains(legacyKey));
        Assert.Equal((0L, 0L, "metered to Marketplace by API Gateway itself: nothing recorded here"), (byApiGateway.Recorded, byApiGateway.Drift, byApiGateway.Finding));
        Assert.Equal(0, agreed.Drift);

        // Two requests API Gateway counted on the day after its last report: never metered.
        world.CountMarketplace(licensedKey, day, 2);
        var drifted = await world.Resolve<ReconcileUsage>().RunAsync(day, Ct);

        var never = Assert.Single(drifted.Rows, r => r.KeyIds.Contains(licensedKey));
        Assert.Equal((2L, "2 counted but never billed"), (never.Drift, never.Finding));
        Assert.Equal(2, drifted.Drift);
    }
}
