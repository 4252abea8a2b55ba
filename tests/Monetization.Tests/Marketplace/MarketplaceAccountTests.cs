using System.Net;
using Monetization.Emulators.Marketplace;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// A Marketplace buyer is signed in by the landing (their registration token proves them) to the account page, where
/// they see their subscription and usage and rotate their key; billing stays with AWS Marketplace.
/// </summary>
public sealed class MarketplaceAccountTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABuyerWhoPostsTheStripeButtonsIsOfferedNeitherPlanAndKeepsTheirMarketplaceAccess()
    {
        var customer = "freebuyer" + Guid.NewGuid().ToString("N")[..10];
        using var browser = new AccountBrowser(channel.Http.BaseAddress!);
        var minted = channel.Marketplace.MintToken(new MintTokenRequest { CustomerIdentifier = customer });
        using (await browser.Http.PostAsync("/marketplace", new FormUrlEncodedContent([new("x-amzn-marketplace-token", minted.Token)]), Cancel))
        {
        }

        Assert.True((await channel.Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel)).Succeeded);
        var key = await channel.KeyMintedAsync("marketplace-cid-" + customer, granted: true);
        var page = await browser.AccountPageAsync();

        var stripeWrites = channel.Environment.Stripe.Requests.Count(r => r.Method != "GET");

        using var free = await browser.PostFormAsync("/account/free", page);
        using var subscribe = await browser.PostFormAsync("/account/subscribe", page);

        Assert.DoesNotContain("id=\"start-free\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"subscribe\"", page, StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.SeeOther, "/account"), (free.StatusCode, free.Headers.Location?.OriginalString));
        Assert.Equal((HttpStatusCode.SeeOther, "/account"), (subscribe.StatusCode, subscribe.Headers.Location?.OriginalString));
        Assert.Equal(stripeWrites, channel.Environment.Stripe.Requests.Count(r => r.Method != "GET"));
        using var dynamoDb = channel.Environment.DynamoDb();
        var record = await new Monetization.Aws.Ledger.DynamoDbSubscriberLedger(dynamoDb, Monetization.Emulators.OfflineEnvironment.LedgerTableName)
            .GetAsync(Monetization.Core.Marketplace.MarketplaceCustomer.FromCustomerIdentifier(customer).SubscriberId, Cancel);
        Assert.False(record!.FreePlan);
        Assert.Equal(channel.Environment.MarketplaceUsagePlanId, record.UsagePlanId);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.DoesNotContain(key.Id, await channel.Environment.UsagePlanKeyIdsAsync(channel.Environment.FreeUsagePlanId, Cancel));
    }

    [Fact]
    public async Task TheLandingSignsTheBuyerInToTheAccountPageWhereTheyRotateAndTheirEventsLeaveTheRetiringKeyAlone()
    {
        var customer = "acctbuyer" + Guid.NewGuid().ToString("N")[..10];
        using var browser = new AccountBrowser(channel.Http.BaseAddress!);
        var minted = channel.Marketplace.MintToken(new MintTokenRequest { CustomerIdentifier = customer });

        using var landed = await browser.Http.PostAsync(
            "/marketplace", new FormUrlEncodedContent([new("x-amzn-marketplace-token", minted.Token)]), Cancel);
        // The buyer's key is asked of the key minting queue: the landing signs them in and sends them to the account
        // page, which shows the key once it is made; Marketplace confirms the subscription meanwhile.
        Assert.Equal(HttpStatusCode.SeeOther, landed.StatusCode);
        Assert.Equal("/account", landed.Headers.Location?.OriginalString);
        Assert.True((await channel.Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel)).Succeeded);
        var (oldKeyId, _) = await browser.KeyOnceMintedAsync() ?? throw new InvalidOperationException("No key shown.");
        await channel.KeyMintedAsync("marketplace-cid-" + customer, granted: true);
        var oldKey = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.Equal(oldKeyId, oldKey.Id);

        var page = await browser.AccountPageAsync();
        Assert.Equal("Active", AccountBrowser.StatusOn(page));
        Assert.Contains("AWS Marketplace", page, StringComparison.Ordinal);
        Assert.DoesNotContain("/account/billing", page, StringComparison.Ordinal);
        Assert.DoesNotContain(minted.Token, page, StringComparison.Ordinal);

        using var rotated = await browser.PressAsync("/account/keys/rotate");
        Assert.Equal(HttpStatusCode.SeeOther, rotated.StatusCode);
        var (newKeyId, newValue) = await browser.KeyOnceMintedAsync() ?? throw new InvalidOperationException("No new key shown.");
        var keys = await channel.KeysNamedAsync("marketplace-cid-" + customer);
        Assert.Equal(2, keys.Count);
        Assert.All(keys, k => Assert.True(k.Enabled));
        Assert.Equal(newValue, keys.Single(k => k.Id == newKeyId).Value);
        var plan = await channel.MarketplacePlanKeyIdsAsync();
        Assert.Contains(oldKey.Id, plan);
        Assert.Contains(newKeyId, plan);

        // A later event converges the buyer's key: the retiring key is neither deleted as a stray nor adopted.
        Assert.True((await channel.Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", customer), Cancel)).Succeeded);
        Assert.Equal(2, (await channel.KeysNamedAsync("marketplace-cid-" + customer)).Count);

        // The subscription ends: both keys stop at once.
        Assert.True((await channel.Marketplace.DeliverSnsAsync(new SnsNotification("unsubscribe-success", customer), Cancel)).Succeeded);
        Assert.All(await channel.KeysNamedAsync("marketplace-cid-" + customer), k => Assert.False(k.Enabled));
        Assert.Equal("Ended", AccountBrowser.StatusOn(await browser.AccountPageAsync()));
    }

    [Fact]
    public async Task AForgedTokenSignsNobodyIn()
    {
        using var browser = new AccountBrowser(channel.Http.BaseAddress!);
        using var landed = await browser.Http.PostAsync(
            "/marketplace", new FormUrlEncodedContent([new("x-amzn-marketplace-token", "forged-token-" + Guid.NewGuid().ToString("N"))]), Cancel);

        Assert.DoesNotContain(landed.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith("monetization-session", StringComparison.Ordinal)));
        using var account = await browser.Http.GetAsync("/account", Cancel);
        Assert.Equal(HttpStatusCode.SeeOther, account.StatusCode);
    }
}
