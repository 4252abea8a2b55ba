using Monetization.Emulators.AwsStandIn;
using Monetization.Emulators.Marketplace;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// A Marketplace listing going live: buyers land and are confirmed all at once while the stand-in enforces API
/// Gateway's account-wide control-plane quotas. Their keys take their turn at the account's budget with every other
/// call, so no call goes over a quota and every buyer gets exactly one working key.
/// </summary>
public sealed class MarketplaceLandingFloodTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task FifteenBuyersLandingAndConfirmedAtOnceEachGetOneWorkingKeyWithNoCallOverAQuota()
    {
        var quotas = channel.Environment.Quotas;
        var before = quotas.Accepted.ToDictionary(a => a.Key, a => a.Value);
        int Made(string action) => quotas.Accepted.GetValueOrDefault(action) - before.GetValueOrDefault(action);
        quotas.Enforced = true;
        try
        {
            // Under the landing's 20 a minute per client address: the emulator posts every landing from one address.
            var customers = Enumerable.Range(0, 15).Select(_ => "flood" + Guid.NewGuid().ToString("N")[..12]).ToList();
            var started = System.Diagnostics.Stopwatch.StartNew();
            var landed = await Task.WhenAll(customers.Select(async customer =>
            {
                var purchase = await channel.Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);
                var delivery = await channel.Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel);
                return (Customer: customer, Purchase: purchase, Delivery: delivery);
            }));
            var took = started.Elapsed;

            Assert.Empty(quotas.Refused);
            var plan = await channel.MarketplacePlanKeyIdsAsync();
            foreach (var (customer, purchase, delivery) in landed)
            {
                Assert.Equal(200, purchase.StatusCode);
                Assert.True(delivery.Succeeded, delivery.Error);
                var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
                Assert.Equal(key.Value, MarketplaceChannelFixture.KeyOnPage(purchase.Html));
                Assert.True(key.Enabled);
                Assert.Contains(key.Id, plan);
            }

            // The keys came from the key minting queue's imports, batched, none from CreateApiKey.
            Assert.Equal(0, Made(ApiGatewayControlPlaneQuotas.CreateApiKey));
            var imports = Made(ApiGatewayControlPlaneQuotas.ImportApiKeys);
            Assert.InRange(imports, 1, 14);
            var calls = quotas.Accepted.Keys.Sum(Made);
            TestContext.Current.TestOutputHelper?.WriteLine($"{calls} control-plane calls, {imports} imports, in {took}");
        }
        finally
        {
            quotas.Enforced = false;
        }
    }
}
