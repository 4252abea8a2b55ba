using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monetization.Core.Billing;
using Monetization.Core.Accounts;
using Monetization.Portal.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Billing;

/// <summary>Where Stripe Checkout sends the subscriber back: paid (<see cref="ReturnPath"/>) or not (<see cref="CancelledPath"/>).</summary>
public static class CheckoutEndpoints
{
    public const string ReturnPath = "/checkout/return";
    public const string CancelledPath = "/checkout/cancelled";

    public static IEndpointRouteBuilder MapCheckout(this IEndpointRouteBuilder app)
    {
        // Each return costs Stripe calls; it shares the signup's per-address budget (a person returns once per signup).
        app.MapGet(ReturnPath, ReturnAsync).RequireRateLimiting(Registration.RegistrationEndpoints.RateLimitPolicy);
        app.MapGet(CancelledPath, (IOptions<PortalOptions> portal) => CheckoutPages.Cancelled(portal.Value));
        return app;
    }

    /// <summary>The URLs a checkout opened for a request to this Portal returns to, with Stripe's placeholder for the session id.</summary>
    public static CheckoutReturn ReturnFor(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new CheckoutReturn(
            PortalUrls.Of(request, $"{ReturnPath}?session_id={NewCheckout.CheckoutSessionIdPlaceholder}").OriginalString,
            PortalUrls.Of(request, CancelledPath).OriginalString);
    }

    private static async Task<IResult> ReturnAsync(
        HttpRequest request, ActivateSubscription flow, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var sessionId = request.Query["session_id"].ToString();
        if (sessionId.Length is 0 or > 255 || !sessionId.StartsWith("cs_", StringComparison.Ordinal))
        {
            return CheckoutPages.Unknown(portal.Value);
        }

        var outcome = await flow.ActivateAsync(sessionId, cancellationToken);
        return outcome switch
        {
            // The key's value waits there, shown once to the signed-in subscriber.
            ActivationOutcome.Active => SeeOther.To(AccountEndpoints.Path),
            ActivationOutcome.NotActive => CheckoutPages.NotActive(portal.Value),
            ActivationOutcome.NotPaid => CheckoutPages.Cancelled(portal.Value),
            ActivationOutcome.Unknown => CheckoutPages.Unknown(portal.Value),
            _ => throw new System.Diagnostics.UnreachableException($"Checkout return has no answer for {outcome.GetType().Name}."),
        };
    }
}

public static class CheckoutPages
{
    public static ContentHttpResult NotActive(PortalOptions options) => Page(
        "Your subscription is not active",
        "payment-inactive",
        "<p>The checkout was completed, but the subscription it started is no longer active. <a href=\"/account\">Your account</a> shows what to do next.</p>",
        options);

    public static ContentHttpResult Cancelled(PortalOptions options) => Page(
        "Payment not completed",
        "payment-cancelled",
        "<p>No payment method was set up, so the subscription has not started. <a href=\"/account\">Back to your account</a>, where you can continue to payment.</p>",
        options,
        StatusCodes.Status200OK);

    public static ContentHttpResult Unknown(PortalOptions options) => Page(
        "Checkout not found",
        "payment-unknown",
        "<p>This address does not name a checkout of this service.</p>",
        options,
        StatusCodes.Status404NotFound);

    private static ContentHttpResult Page(string heading, string id, string body, PortalOptions options, int status = StatusCodes.Status200OK) =>
        Html.Page(heading, $"""
            <section id="{id}" tabindex="-1" aria-labelledby="result-heading">
            <h1 id="result-heading" tabindex="-1" data-autofocus>{Html.Encode(heading)}</h1>
            {body}
            {Html.Support(options.SupportContact)}
            </section>
            """, status);
}
