using System.Net;
using System.Reflection;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Portal.Billing;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Billing;

/// <summary>The public pricing page on the real Portal and the Stripe emulator, and what it costs Stripe.</summary>
public sealed class PricingPageTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ThePageShowsTheFreeAllowanceAndThePriceAsStripeHoldsItReadingStripeOnce()
    {
        using var first = await portal.Http.GetAsync("/pricing", Ct);
        var html = await first.Content.ReadAsStringAsync(Ct);
        var priceReads = portal.Stripe.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/v1/prices/", StringComparison.Ordinal));
        for (var i = 0; i < 3; i++)
        {
            using var again = await portal.Http.GetAsync("/pricing", Ct);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }

        var price = portal.Stripe.Prices.Single(p => p.Id == portal.Environment.PriceId);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Contains("id=\"plan-free\"", html, StringComparison.Ordinal);
        Assert.Contains("1,000 requests a month", html, StringComparison.Ordinal);
        Assert.Contains(
            $"<p class=\"plan-price\" id=\"paid-price\">{PricingEndpoints.PerThousand(new BillingPrice(decimal.Parse(price.UnitAmountDecimal!, System.Globalization.CultureInfo.InvariantCulture), price.Currency, "month"))}</p>",
            html,
            StringComparison.Ordinal);
        Assert.Contains("1.00 USD per 1,000 requests", html, StringComparison.Ordinal);
        Assert.Contains("billed monthly", html, StringComparison.Ordinal);
        Assert.Equal(priceReads, portal.Stripe.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/v1/prices/", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(0.1, "usd", "1.00 USD per 1,000 requests")]
    [InlineData(0.05, "eur", "0.50 EUR per 1,000 requests")]
    [InlineData(0.0123, "usd", "0.123 USD per 1,000 requests")]
    [InlineData(2, "jpy", "2,000 JPY per 1,000 requests")]
    [InlineData(150, "usd", "1,500.00 USD per 1,000 requests")]
    public void APriceIsShownPerThousandRequestsInTheCurrencysMainUnit(double unitAmount, string currency, string shown) =>
        Assert.Equal(shown, PricingEndpoints.PerThousand(new BillingPrice((decimal)unitAmount, currency, "month")));

    [Fact]
    public async Task APriceStripeCannotGiveIsAskedForAgainOnlyAfterThirtySecondsAndAReadPriceIsKept()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var billing = ScriptedPrices.Create();
        var cache = new PriceCache(billing, clock);
        var scripted = (ScriptedPrices)(object)billing;

        scripted.Fail = true;
        var whileDown = new[] { await cache.GetAsync(Ct), await cache.GetAsync(Ct) };
        var askedWhileDown = scripted.Calls;
        clock.Advance(PriceCache.RetryAfterFailure + TimeSpan.FromSeconds(1));
        scripted.Fail = false;
        var back = await cache.GetAsync(Ct);
        clock.Advance(TimeSpan.FromDays(1));
        var later = await cache.GetAsync(Ct);

        Assert.All(whileDown, Assert.Null);
        Assert.Equal(1, askedWhileDown);
        Assert.Equal(ScriptedPrices.Price, back);
        Assert.Equal(ScriptedPrices.Price, later);
        Assert.Equal(2, scripted.Calls);
    }

    /// <summary>An <see cref="IBilling"/> whose price read fails or answers as told; any other call is a test error.</summary>
    public class ScriptedPrices : DispatchProxy
    {
        public static readonly BillingPrice Price = new(0.1m, "usd", "month");

        public bool Fail { get; set; }

        public int Calls { get; private set; }

        public static IBilling Create() => DispatchProxy.Create<IBilling, ScriptedPrices>();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
        {
            if (targetMethod?.Name != nameof(IBilling.GetPriceAsync))
            {
                throw new InvalidOperationException($"The pricing page called {targetMethod?.Name}.");
            }

            Calls++;
            return Fail
                ? Task.FromException<BillingPrice>(new DependencyUnavailableException("Stripe", "GET /v1/prices", new HttpRequestException("down")))
                : Task.FromResult(Price);
        }
    }
}
