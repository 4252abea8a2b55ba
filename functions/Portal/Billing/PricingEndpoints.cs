using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monetization.Core;
using Monetization.Core.Accounts;
using Monetization.Core.Billing;
using Monetization.Portal.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Billing;

/// <summary>
/// The public pricing page: the free plan with its monthly allowance (when offered) and the paid plan with its price as
/// Stripe holds it, each with the way in. Anyone may read it, so it costs Stripe at most one price read per instance
/// (<see cref="PriceCache"/>) and is limited per client like the account page.
/// </summary>
public static class PricingEndpoints
{
    public const string Path = "/pricing";

    public static IEndpointRouteBuilder MapPricing(this IEndpointRouteBuilder app)
    {
        app.MapGet(Path, ShowAsync).RequireRateLimiting(AccountEndpoints.RateLimitPolicy);
        return app;
    }

    private static async Task<ContentHttpResult> ShowAsync(
        PriceCache prices, StripeChannelOptions channel, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var options = portal.Value;
        var price = await prices.GetAsync(cancellationToken);
        var free = channel.OffersFreePlan
            ? string.Create(CultureInfo.InvariantCulture, $"""
                <section class="plan" id="plan-free" aria-labelledby="plan-free-name">
                <h2 id="plan-free-name">Free</h2>
                <p class="plan-price">No charge</p>
                <p>{(options.FreePlanMonthlyQuota > 0 ? $"{options.FreePlanMonthlyQuota:N0} requests a month" : "A monthly allowance of requests")}, with no card. Past it the API answers 429 until the next month.</p>
                <a class="button" href="/?plan={PlanChoices.NameOf(PlanChoice.Free)}" id="choose-free">Start free</a>
                </section>
                """)
            : string.Empty;
        var paidPrice = price is null
            ? "<p class=\"plan-price\" id=\"paid-price\">The price cannot be read right now. Try again in a minute.</p>"
            : $"<p class=\"plan-price\" id=\"paid-price\">{Html.Encode(PerThousand(price))}</p>";
        return Html.Page("Plans and prices", $"""
            <section id="pricing" aria-labelledby="pricing-heading">
            <h1 id="pricing-heading" tabindex="-1" data-autofocus>Plans and prices</h1>
            <p>Call the API at <code>{Html.Encode(options.ApiBase().ToString())}</code> with a key of your own.</p>
            <div class="plans">
            {free}
            <section class="plan" id="plan-paid" aria-labelledby="plan-paid-name">
            <h2 id="plan-paid-name">Pay as you go</h2>
            {paidPrice}
            <p>Every request you make, billed {Html.Encode(IntervalName(price?.Interval))} through Stripe; no monthly limit.</p>
            <a class="button" href="/?plan={PlanChoices.NameOf(PlanChoice.Paid)}" id="choose-paid">Subscribe</a>
            </section>
            </div>
            <p>Both start with your e-mail address: we send you a sign-in link. With the free plan your key is made as soon as you sign in with it; for paying, your account page leads you to Stripe's checkout. You can move from the free plan to paying at any time, with the same key.</p>
            {Html.Support(options.SupportContact)}
            </section>
            """);
    }

    /// <summary>The price of 1,000 requests in the currency's main unit, e.g. <c>1.00 USD per 1,000 requests</c>.</summary>
    public static string PerThousand(BillingPrice price)
    {
        ArgumentNullException.ThrowIfNull(price);
        var wholeUnits = Money.DecimalsOf(price.Currency) == 0;
        var perThousand = price.UnitAmount / Money.MinorPerMain(price.Currency) * 1000m;
        return string.Create(CultureInfo.InvariantCulture, $"{perThousand.ToString(wholeUnits ? "#,0.##" : "#,0.00##", CultureInfo.InvariantCulture)} {price.Currency.ToUpperInvariant()} per 1,000 requests");
    }

    private static string IntervalName(string? interval) => interval switch
    {
        null or "month" => "monthly",
        "year" => "yearly",
        "week" => "weekly",
        "day" => "daily",
        var other => "every " + other,
    };
}

/// <summary>
/// The configured price for the pricing page: read from Stripe on first need and kept (a Stripe price's amount never
/// changes). A failed read is not retried for <see cref="RetryAfterFailure"/>, so a flood of page views while Stripe is
/// down costs Stripe nothing more, and the page says the price cannot be read.
/// </summary>
public sealed class PriceCache(IBilling billing, TimeProvider clock)
{
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _reading = new(1, 1);
    private BillingPrice? _price;

    /// <summary>Until when a failed read is not repeated, in UTC ticks (one word, so readers outside the lock see it whole).</summary>
    private long _failedUntilTicks;

    public async Task<BillingPrice?> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _price) is { } known)
        {
            return known;
        }

        // One read at a time; views that arrive meanwhile, or soon after a failure, show the page without the price.
        if (clock.GetUtcNow().UtcTicks < Volatile.Read(ref _failedUntilTicks) || !await _reading.WaitAsync(TimeSpan.Zero, cancellationToken))
        {
            return null;
        }

        try
        {
            var price = await billing.GetPriceAsync(cancellationToken);
            Volatile.Write(ref _price, price);
            return price;
        }
        catch (DependencyUnavailableException)
        {
            Volatile.Write(ref _failedUntilTicks, (clock.GetUtcNow() + RetryAfterFailure).UtcTicks);
            return null;
        }
        finally
        {
            _reading.Release();
        }
    }
}
