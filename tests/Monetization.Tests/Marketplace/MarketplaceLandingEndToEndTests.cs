using System.Net;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Marketplace;

namespace Monetization.Tests.Marketplace;

/// <summary>A buyer arriving from the emulated AWS Marketplace at the Portal over HTTP, with moto behind it.</summary>
public sealed class MarketplaceLandingEndToEndTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private MarketplaceEmulator Marketplace => channel.Marketplace;

    private static string NewCustomerIdentifier() => "buyer" + Guid.NewGuid().ToString("N")[..12];

    private void AssertNoLogLineNames(params string[] tokens)
    {
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(channel.Logs.Lines, line => line.Contains(token, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task APurchaseShowsTheKeyWaitingForMarketplaceToConfirm()
    {
        var purchase = await Marketplace.SimulatePurchaseAsync(cancellationToken: Cancel);

        Assert.Equal(200, purchase.StatusCode);
        // The buyer waited on the account page while the key was made, and it is shown there once.
        Assert.Contains("Waiting for AWS Marketplace to confirm your subscription", purchase.Html, StringComparison.Ordinal);
        Assert.Contains("x-api-key", purchase.Html, StringComparison.Ordinal);
        var value = MarketplaceChannelFixture.KeyOnPage(purchase.Html);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + purchase.Buyer.CustomerIdentifier));
        Assert.Equal(key.Value, value);
        Assert.False(key.Enabled);
        Assert.DoesNotContain(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.DoesNotContain(purchase.Buyer.Token, purchase.Html, StringComparison.Ordinal);
        AssertNoLogLineNames(purchase.Buyer.Token);
    }

    [Fact]
    public async Task SubscribeSuccessActivatesTheKeyAndTheNextLandingNamesTheSameKeyActiveWithoutShowingItAgain()
    {
        var customer = NewCustomerIdentifier();
        var first = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);

        var delivery = await Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel);
        var second = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);

        Assert.True(delivery.Succeeded, delivery.Error);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.True(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.Equal(200, second.StatusCode);
        Assert.Contains("<strong>active</strong>", second.Html, StringComparison.Ordinal);
        Assert.Equal(key.Value, MarketplaceChannelFixture.KeyOnPage(first.Html));
        Assert.Null(MarketplaceChannelFixture.KeyOnPage(second.Html));
        Assert.DoesNotContain(key.Value, second.Html, StringComparison.Ordinal);
        Assert.Contains($"<code id=\"api-key-hint\">{key.Value[^4..]}</code>", second.Html, StringComparison.Ordinal);
        AssertNoLogLineNames(first.Buyer.Token, second.Buyer.Token);
    }

    [Fact]
    public async Task ABuyerWhoseSubscriptionEndedIsToldItEndedAndShownNoKey()
    {
        var customer = NewCustomerIdentifier();
        var first = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);
        Assert.True((await Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel)).Succeeded);
        Assert.True((await Marketplace.DeliverSnsAsync(new SnsNotification("unsubscribe-success", customer), Cancel)).Succeeded);

        var again = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);

        Assert.Equal(200, again.StatusCode);
        Assert.Contains("Your subscription has ended", again.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("waiting for AWS Marketplace", again.Html, StringComparison.Ordinal);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.DoesNotContain(key.Value, again.Html, StringComparison.Ordinal);
        Assert.Equal(key.Value, MarketplaceChannelFixture.KeyOnPage(first.Html));
        Assert.False(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task ANewStyleBuyerIsGrantedByTheLicenseEvent()
    {
        var purchase = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { Style = BuyerStyle.NewStyle }, Cancel);

        var delivery = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Updated - Manufacturer", purchase.Buyer.CustomerAwsAccountId, purchase.Buyer.LicenseArn), Cancel);

        Assert.Equal(200, purchase.StatusCode);
        Assert.True(delivery.Succeeded, delivery.Error);
        var shown = MarketplaceChannelFixture.KeyOnPage(purchase.Html);
        var key = Assert.Single(await channel.Environment.ApiKeysAsync(Cancel), k => k.Value == shown);
        Assert.True(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task ALegacyBuyersLicenseEventsReachTheKeyShownAtTheLanding()
    {
        var purchase = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = NewCustomerIdentifier() }, Cancel);
        var buyer = purchase.Buyer;

        var granted = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Updated - Manufacturer", buyer.CustomerAwsAccountId, buyer.LicenseArn), Cancel);

        Assert.True(granted.Succeeded, granted.Error);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + buyer.CustomerIdentifier));
        Assert.Equal(MarketplaceChannelFixture.KeyOnPage(purchase.Html), key.Value);
        Assert.True(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.Empty(await KeysNamedByLicenseAsync(buyer));

        var revoked = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Deprovisioned - Manufacturer", buyer.CustomerAwsAccountId, buyer.LicenseArn, Time: DateTimeOffset.UtcNow.AddMinutes(1)), Cancel);

        Assert.True(revoked.Succeeded, revoked.Error);
        var after = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + buyer.CustomerIdentifier));
        Assert.Equal(key.Id, after.Id);
        Assert.False(after.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.Empty(await KeysNamedByLicenseAsync(buyer));
    }

    [Fact]
    public async Task ALicenseEventBeforeTheLandingEndsInOneActiveKeyForTheBuyer()
    {
        var accountId = "2" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var licenseArn = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
        var granted = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Updated - Manufacturer", accountId, licenseArn, Time: DateTimeOffset.UtcNow.AddSeconds(-5)), Cancel);

        var purchase = await Marketplace.SimulatePurchaseAsync(
            new MintTokenRequest { CustomerIdentifier = NewCustomerIdentifier(), CustomerAwsAccountId = accountId, LicenseArn = licenseArn }, Cancel);

        Assert.True(granted.Succeeded, granted.Error);
        Assert.Equal(200, purchase.StatusCode);

        // The landing folded the license name's record (and its key) into the buyer's, whose key the buyer then
        // waited for on the account page: active from the start.
        Assert.Contains("<strong id=\"subscription-status\">Active</strong>", purchase.Html, StringComparison.Ordinal);
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + purchase.Buyer.CustomerIdentifier));
        Assert.Equal(key.Value, MarketplaceChannelFixture.KeyOnPage(purchase.Html));
        Assert.True(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.Empty(await KeysNamedByLicenseAsync(purchase.Buyer));
    }

    private Task<IReadOnlyList<(string Id, string Name, bool Enabled, string Value)>> KeysNamedByLicenseAsync(MintedToken buyer) =>
        channel.KeysNamedByLicenseAsync(buyer.CustomerAwsAccountId, buyer.LicenseArn);

    [Fact]
    public async Task AnUnknownTokenGetsAPageSendingTheBuyerBackToMarketplace()
    {
        const string token = "forged-registration-token-0123456789";

        using var response = await channel.Http.GetAsync($"/marketplace?x-amzn-marketplace-token={token}", Cancel);
        var html = await response.Content.ReadAsStringAsync(Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("go back to AWS Marketplace", html, StringComparison.Ordinal);
        Assert.DoesNotContain(token, html, StringComparison.Ordinal);
        AssertNoLogLineNames(token);
    }

    [Fact]
    public async Task AnExpiredTokenGetsThePageExplainingItRanOut()
    {
        var purchase = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { Expired = true }, Cancel);

        Assert.Equal(400, purchase.StatusCode);
        Assert.Contains("expired", purchase.Html, StringComparison.Ordinal);
        Assert.Contains("go back to AWS Marketplace", purchase.Html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AProductWeDoNotSellGetsABadRequestPageAndNoKey()
    {
        var purchase = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { ProductCode = "prod-notsoldhere" }, Cancel);

        Assert.Equal(400, purchase.StatusCode);
        Assert.Contains("does not sell", purchase.Html, StringComparison.Ordinal);
        Assert.Empty(await channel.KeysNamedAsync("marketplace-cid-" + purchase.Buyer.CustomerIdentifier));
    }

    [Fact]
    public async Task ALandingWithoutATokenExplainsWhereToComeFrom()
    {
        using var response = await channel.Http.PostAsync("/marketplace", new FormUrlEncodedContent([]), Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("AWS Marketplace", await response.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThrottlingThatOutlastsTheRetriesGetsAServiceUnavailablePage()
    {
        Marketplace.Faults.Add(new FaultRule { PathPrefix = "/ResolveCustomer", Status = 400, Count = 3 });

        var purchase = await Marketplace.SimulatePurchaseAsync(cancellationToken: Cancel);

        Assert.Equal(503, purchase.StatusCode);
        Assert.Contains("try again", purchase.Html, StringComparison.OrdinalIgnoreCase);

        // Spoken to a buyer AWS sent here: their subscription is at AWS, and they never signed up on this site.
        Assert.Contains("Your AWS Marketplace subscription is not affected", purchase.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("sign-up page", purchase.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("nothing was charged", purchase.Html, StringComparison.Ordinal);
        Assert.Empty(await channel.KeysNamedAsync("marketplace-cid-" + purchase.Buyer.CustomerIdentifier));
        AssertNoLogLineNames(purchase.Buyer.Token);
    }

    [Fact]
    public async Task ALandingRacingSubscribeSuccessLeavesOneKeyInThePlan()
    {
        var customers = Enumerable.Range(0, 4).Select(_ => NewCustomerIdentifier()).ToList();

        var races = customers.Select(async customer =>
        {
            var landing = Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = customer }, Cancel);
            var subscribe = Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel);
            await Task.WhenAll(landing, subscribe);
            return (Customer: customer, Landing: await landing, Delivery: await subscribe);
        });
        var outcomes = await Task.WhenAll(races);

        var plan = await channel.MarketplacePlanKeyIdsAsync();
        foreach (var (customer, landing, delivery) in outcomes)
        {
            Assert.Equal(200, landing.StatusCode);
            Assert.True(delivery.Succeeded, delivery.Error);
            var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
            Assert.True(key.Enabled);
            Assert.Contains(key.Id, plan);
            Assert.Equal(key.Value, MarketplaceChannelFixture.KeyOnPage(landing.Html));
            AssertNoLogLineNames(landing.Buyer.Token);
        }
    }
}
