using Monetization.Portal.Pages;
using Monetization.Tests.Marketplace;
using Monetization.Tests.Registration;

namespace Monetization.Tests.Portal;

/// <summary>What the pages tell a person: where the API is, how to call it with the new key, and whom to ask.</summary>
public sealed class PortalPagesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheSignupPageSaysWhereTheApiIsAndNamesNoSupportWithoutAContact()
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        using var http = factory.CreateClient();

        var html = await http.GetStringAsync("/", Ct);

        Assert.Contains("https://api.example.com/prod", html, StringComparison.Ordinal);
        Assert.DoesNotContain("support", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheSignupPageLinksTheConfiguredSupportContact()
    {
        var settings = PortalFactory.Offline();
        settings["Monetization:SupportContact"] = "mailto:help@example.com";
        await using var factory = new PortalFactory(settings);
        using var http = factory.CreateClient();

        var html = await http.GetStringAsync("/", Ct);

        Assert.Contains("<a href=\"mailto:help@example.com\">help@example.com</a>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void TheCallExampleIsACompleteCommandForTheConfiguredApi()
    {
        Assert.Equal(
            "curl -H \"x-api-key: k3y\" https://abc123defg.execute-api.us-east-1.amazonaws.com/prod/",
            Html.CurlCommand(new Uri("https://abc123defg.execute-api.us-east-1.amazonaws.com/prod"), "k3y"));
    }

    public sealed class WithDependencies(PortalFixture portal) : IClassFixture<PortalFixture>
    {
        [Fact]
        public async Task TheAccountPageShowsTheWholeKeyItsIdAndHowToCallTheApiOnceAndThenOnlyItsLastCharacters()
        {
            using var browser = await portal.SignInAsync("nojs@example.com");
            using var subscribed = await browser.PressAsync("/account/subscribe");

            var html = await browser.AccountPageOnceKeyIsMadeAsync();

            var key = Assert.Single((await RegistrationState.ReadAsync(portal.Environment, "nojs@example.com")).Keys);
            Assert.Contains($"<code id=\"api-key\" class=\"key-value\" aria-labelledby=\"api-key-label\">{key.Value}</code>", html, StringComparison.Ordinal);
            Assert.Contains($"<code id=\"api-key-id\">{key.Id}</code>", html, StringComparison.Ordinal);
            Assert.Contains("<h1 id=\"account-heading\" tabindex=\"-1\" data-autofocus>Your account</h1>", html, StringComparison.Ordinal);
            Assert.Contains(Html.Encode(Html.CurlCommand(portal.Environment.ApiBaseUrl, key.Value)), html, StringComparison.Ordinal);

            var again = await browser.AccountPageAsync();
            Assert.DoesNotContain(key.Value, again, StringComparison.Ordinal);
            Assert.Contains($"<code id=\"api-key-id\">{key.Id}</code>", again, StringComparison.Ordinal);
            Assert.Contains(key.Value[^4..], again, StringComparison.Ordinal);
        }
    }

    public sealed class OnTheMarketplaceLanding(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
    {
        [Fact]
        public async Task TheKeyPageShowsAReadyToCopyCallOfTheRealApiAndNoPlaceholder()
        {
            var purchase = await channel.Marketplace.SimulatePurchaseAsync(cancellationToken: Ct);

            Assert.Equal(200, purchase.StatusCode);
            var key = MarketplaceChannelFixture.KeyOnPage(purchase.Html)!;
            Assert.DoesNotContain("YOUR_API_URL", purchase.Html, StringComparison.Ordinal);
            Assert.Contains(Html.Encode(Html.CurlCommand(channel.Environment.ApiBaseUrl, key)), purchase.Html, StringComparison.Ordinal);
        }
    }
}
