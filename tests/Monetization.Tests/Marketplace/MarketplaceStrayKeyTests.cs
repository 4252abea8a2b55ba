using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Emulators.Marketplace;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// Keys a lost creation race left behind carry the buyer's key name too; whichever host settles the buyer first
/// keeps the lowest id and deletes the rest, so one buyer never holds two keys.
/// </summary>
public sealed class MarketplaceStrayKeyTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LandingWithTwoKeysOfTheBuyersNameKeepsTheLowestIdAndDeletesTheOther()
    {
        var customer = "buyer" + Guid.NewGuid().ToString("N")[..12];
        var keep = await CreateRaceLeftoversAsync("marketplace-cid-" + customer);

        var purchase = await channel.Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);

        Assert.Equal(200, purchase.StatusCode);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.Equal(keep, key.Id);
    }

    [Fact]
    public async Task SubscribeSuccessWithTwoKeysOfTheBuyersNameKeepsTheLowestIdAndDeletesTheOther()
    {
        var customer = "buyer" + Guid.NewGuid().ToString("N")[..12];
        var keep = await CreateRaceLeftoversAsync("marketplace-cid-" + customer);

        var delivery = await channel.Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel);

        Assert.True(delivery.Succeeded, delivery.Error);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.Equal(keep, key.Id);
        Assert.True(key.Enabled);
    }

    /// <returns>The id the hosts must keep: the lowest.</returns>
    private async Task<string> CreateRaceLeftoversAsync(string name)
    {
        using var http = channel.Environment.ApiGatewayHttp();
        var ids = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            using var response = await http.PostAsJsonAsync(new Uri(http.BaseAddress!, "/apikeys"), new { name, enabled = false }, Cancel);
            response.EnsureSuccessStatusCode();
            ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("id").GetString()!);
        }

        return ids.Min(StringComparer.Ordinal)!;
    }
}
