using Microsoft.Extensions.Options;
using Monetization.Core.Accounts;
using Monetization.Core.Billing;
using Monetization.Portal.Billing;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Accounts;

/// <summary>
/// The account page and its buttons, for a signed-in subscriber only: without a session every address answers with the
/// way to sign in. Every button is a form post checked by <see cref="FormGuard"/> and answered with a redirect, so a
/// reload repeats nothing.
/// </summary>
public static class AccountEndpoints
{
    public const string Path = "/account";

    /// <summary>The per-client limit on the account's page and buttons (<c>Monetization:AccountPermitsPerMinute</c>).</summary>
    public const string RateLimitPolicy = "account";

    public static IEndpointRouteBuilder MapAccount(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup(Path).RequireRateLimiting(RateLimitPolicy);
        group.MapGet(string.Empty, ShowAsync);
        group.MapPost("/subscribe", SubscribeAsync);
        group.MapPost("/free", StartFreeAsync);
        group.MapPost("/cancel", CancelAsync);
        group.MapPost("/billing", BillingAsync);
        group.MapPost("/cap", SetCapAsync);
        group.MapPost("/keys/rotate", RotateAsync);
        group.MapPost("/keys/revoke", RevokeAsync);
        return app;
    }

    /// <summary>What a button's redirect may ask the page to say: a fixed set, so the address carries no text of its own.</summary>
    private static readonly Dictionary<string, string> Notices = new(StringComparer.Ordinal)
    {
        ["too-many-retiring"] = $"Two previous keys are still being retired. Revoke one of them, or wait until it has stopped, before you rotate again.",
        ["no-working-key"] = "Only a working key can be rotated.",
        ["free-after-paid"] = "The free plan is for new accounts. Subscribe again to get your key working.",
        ["cap-invalid"] = "The cap was not changed: enter an amount above 0 in your plan's currency, with at most two decimals (such as 25.00), or leave the field empty to remove the cap.",
        ["cap-not-paying"] = "A spend cap is for a paid subscription whose key works or is paused by its cap.",
    };

    private static async Task<IResult> ShowAsync(HttpContext context, AccountSessions sessions, ViewAccount flow, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        if (await sessions.FindAsync(SessionCookie.Read(context), cancellationToken) is not { } subscriberId
            || await flow.ViewAsync(subscriberId, cancellationToken) is not { } view)
        {
            return SeeOther.To("/");
        }

        var notice = context.Request.Query["notice"].ToString() is { Length: > 0 } name && Notices.TryGetValue(name, out var text) ? text : null;
        return AccountPages.Account(context, view, portal.Value, notice);
    }

    private static Task<IResult> RotateAsync(HttpContext context, AccountSessions sessions, ManageKeys flow, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async subscriberId => await flow.RotateAsync(subscriberId, cancellationToken) switch
        {
            RotateOutcome.Rotated => SeeOther.To(Path),
            RotateOutcome.TooManyRetiring => SeeOther.To(Path + "?notice=too-many-retiring"),
            RotateOutcome.NoWorkingKey => SeeOther.To(Path + "?notice=no-working-key"),
            var outcome => throw new System.Diagnostics.UnreachableException($"Rotating has no answer for {outcome}."),
        }, cancellationToken);

    private static Task<IResult> RevokeAsync(HttpContext context, AccountSessions sessions, ManageKeys flow, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async (subscriberId, form) =>
        {
            if (form["keyId"].ToString() is { Length: > 0 and <= 64 } keyId)
            {
                await flow.RevokeAsync(subscriberId, keyId, cancellationToken);
            }

            return SeeOther.To(Path);
        }, cancellationToken);

    private static Task<IResult> SubscribeAsync(HttpContext context, AccountSessions sessions, StartSubscription flow, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async subscriberId =>
        {
            var outcome = await flow.StartAsync(subscriberId, CheckoutEndpoints.ReturnFor(context.Request), cancellationToken);
            return outcome switch
            {
                SubscribeOutcome.Checkout checkout => SeeOther.To(checkout.Url.ToString()),
                SubscribeOutcome.Started or SubscribeOutcome.AlreadySubscribed or SubscribeOutcome.Ending or SubscribeOutcome.BilledElsewhere => SeeOther.To(Path),
                _ => throw new System.Diagnostics.UnreachableException($"Subscribing has no answer for {outcome.GetType().Name}."),
            };
        }, cancellationToken);

    private static Task<IResult> StartFreeAsync(HttpContext context, AccountSessions sessions, StartFreePlan flow, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async subscriberId => await flow.StartAsync(subscriberId, cancellationToken) switch
        {
            FreePlanOutcome.Started or FreePlanOutcome.AlreadySubscribed or FreePlanOutcome.NotOffered => SeeOther.To(Path),
            FreePlanOutcome.PaidBefore => SeeOther.To(Path + "?notice=free-after-paid"),
            var outcome => throw new System.Diagnostics.UnreachableException($"Starting the free plan has no answer for {outcome}."),
        }, cancellationToken);

    private static Task<IResult> CancelAsync(HttpContext context, AccountSessions sessions, EndSubscription flow, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async subscriberId =>
        {
            await flow.EndAsync(subscriberId, cancellationToken);
            return SeeOther.To(Path);
        }, cancellationToken);

    private static Task<IResult> BillingAsync(HttpContext context, AccountSessions sessions, ManageBilling flow, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async subscriberId =>
        {
            return await flow.OpenAsync(subscriberId, PortalUrls.Of(context.Request, Path), cancellationToken) is { } portal
                ? SeeOther.To(portal.ToString())
                : SeeOther.To(Path);
        }, cancellationToken);

    /// <summary>
    /// Sets the cap from the form's amount in the price's main unit (empty removes it); text that is not an amount
    /// changes nothing and the page says why.
    /// </summary>
    private static Task<IResult> SetCapAsync(HttpContext context, AccountSessions sessions, SpendCaps caps, IBilling billing, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, async (subscriberId, form) =>
        {
            var text = form["cap"].ToString();
            Money? cap = null;
            if (text.Trim().Length > 0)
            {
                var currency = (await billing.GetPriceAsync(cancellationToken)).Currency;
                if (!Money.TryParse(text, currency, out var parsed, out _))
                {
                    return SeeOther.To(Path + "?notice=cap-invalid");
                }

                cap = parsed;
            }

            return await caps.SetAsync(subscriberId, cap, cancellationToken) switch
            {
                SetCapOutcome.Set => SeeOther.To(Path),
                SetCapOutcome.NotPaying => SeeOther.To(Path + "?notice=cap-not-paying"),
                var outcome => throw new System.Diagnostics.UnreachableException($"Setting a cap has no answer for {outcome}."),
            };
        }, cancellationToken);

    /// <summary>A button's post: acted on only with a session and the form guard; anything else goes back to the page.</summary>
    private static Task<IResult> SignedInPostAsync(HttpContext context, AccountSessions sessions, Func<string, Task<IResult>> act, CancellationToken cancellationToken) =>
        SignedInPostAsync(context, sessions, (subscriberId, _) => act(subscriberId), cancellationToken);

    private static async Task<IResult> SignedInPostAsync(
        HttpContext context, AccountSessions sessions, Func<string, IFormCollection, Task<IResult>> act, CancellationToken cancellationToken)
    {
        if (await FormGuard.ReadGuardedAsync(context, cancellationToken) is not { } form
            || await sessions.FindAsync(SessionCookie.Read(context), cancellationToken) is not { } subscriberId)
        {
            return SeeOther.To(Path);
        }

        return await act(subscriberId, form);
    }
}
