using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Monetization.Core.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;
using Monetization.Portal.Registration;

namespace Monetization.Portal.Accounts;

/// <summary>
/// The sign-in link's page: opening it (GET) only asks the person to confirm, so a mail scanner that fetches every
/// link uses nothing; the confirm button (POST) uses the link up and starts the session. Sign-out ends the session on
/// the server.
/// </summary>
public static class SignInEndpoints
{
    public const string Path = "/signin";
    public const string SignOutPath = "/signout";

    public static IEndpointRouteBuilder MapSignIn(this IEndpointRouteBuilder app)
    {
        // Each costs a ledger read or write; a person makes two per sign-in, within the signup's per-address budget.
        app.MapGet(Path, ShowAsync).RequireRateLimiting(RegistrationEndpoints.RateLimitPolicy);
        app.MapPost(Path, ConfirmAsync).RequireRateLimiting(RegistrationEndpoints.RateLimitPolicy);
        app.MapPost(SignOutPath, SignOutAsync);
        return app;
    }

    /// <summary>The link a sign-in e-mail carries, for a request to this Portal: its origin and <see cref="Path"/>.</summary>
    public static Uri SignInUrl(HttpRequest request) => PortalUrls.Of(request, Path);

    private static async Task<ContentHttpResult> ShowAsync(HttpContext context, ConfirmSignIn flow, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var tokens = context.Request.Query["token"];
        var token = tokens.Count == 1 ? tokens[0] : null;
        return await flow.IsUsableAsync(token, cancellationToken)
            ? AccountPages.ConfirmSignIn(context, token!, portal.Value)
            : AccountPages.LinkUnusable(portal.Value);
    }

    private static async Task<IResult> ConfirmAsync(
        HttpContext context, ConfirmSignIn flow, StartFreePlan free, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var form = context.Request.HasFormContentType ? await FormInput.TryReadAsync(context.Request, cancellationToken) : null;
        if (form is null || FormInput.Problem(form, "token", out var token) is not null)
        {
            return AccountPages.LinkUnusable(portal.Value);
        }

        if (!FormGuard.IsValid(context, form))
        {
            // The page was opened in another browser, or long ago: the same link, confirmed again, still works.
            return AccountPages.ConfirmSignIn(context, token!, portal.Value, "Please confirm again.");
        }

        var outcome = await flow.ConfirmAsync(token, cancellationToken);
        switch (outcome)
        {
            case SignInOutcome.SignedIn signedIn:
                SessionCookie.Write(context, signedIn.Session);
                if (signedIn.Plan == PlanChoice.Free)
                {
                    await StartChosenFreePlanAsync(free, signedIn.SubscriberId, cancellationToken);
                }

                return SeeOther.To(AccountEndpoints.Path);
            case SignInOutcome.Unusable:
                return AccountPages.LinkUnusable(portal.Value);
            default:
                throw new System.Diagnostics.UnreachableException($"Sign-in has no answer for {outcome.GetType().Name}.");
        }
    }

    /// <summary>
    /// The free plan the person chose before signing up starts now that the address is proven. The link is used up and
    /// the session started either way, so a failure here leaves the account page's Start free button to finish it.
    /// </summary>
    private static async Task StartChosenFreePlanAsync(StartFreePlan free, string subscriberId, CancellationToken cancellationToken)
    {
        try
        {
            await free.StartAsync(subscriberId, cancellationToken);
        }
        catch (Monetization.Core.DependencyUnavailableException)
        {
            // The account page offers the free plan while it has not started.
        }
    }

    private static async Task<IResult> SignOutAsync(HttpContext context, AccountSessions sessions, CancellationToken cancellationToken)
    {
        if (await FormGuard.ReadGuardedAsync(context, cancellationToken) is not null)
        {
            await sessions.EndAsync(SessionCookie.Read(context), cancellationToken);
            SessionCookie.Delete(context);
        }

        return SeeOther.To("/");
    }
}
