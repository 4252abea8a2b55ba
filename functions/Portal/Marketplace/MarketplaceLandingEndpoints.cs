using Monetization.Core;
using Microsoft.Extensions.Options;
using Monetization.Core.Accounts;
using Monetization.Core.Marketplace;
using Monetization.Portal.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Marketplace;

/// <summary>
/// The subscription URL AWS Marketplace sends a buyer to. Marketplace posts the registration token from its own site,
/// so there is no form guard to check; a token is good for this buyer only and redeemable for a short time.
/// </summary>
/// <remarks>
/// A buyer the token resolved is signed in (a session cookie, as the e-mail link gives) to the account page; a buyer
/// whose key is still being made is sent there (303, the token left behind), where the page waits for the key and shows
/// it once. The token is read, resolved and dropped: every other answer is rendered in place and nothing logged here
/// names it; <see cref="Secret"/> keeps it out of the flow's logs and exceptions.
/// </remarks>
public static class MarketplaceLandingEndpoints
{
    public const string Path = "/marketplace";

    public const string TokenField = "x-amzn-marketplace-token";

    public const string RateLimitPolicy = "marketplace";

    // Real tokens are a few hundred characters; anything far longer is not one and is not sent on to AWS.
    private const int MaxTokenLength = 4096;

    public static IEndpointRouteBuilder MapMarketplaceLanding(this IEndpointRouteBuilder app)
    {
        // Each landing costs a ResolveCustomer call, forged tokens included, so each client address gets a few a minute.
        var group = app.MapGroup(Path).RequireRateLimiting(RateLimitPolicy);
        group.MapPost(string.Empty, LandFromFormAsync);
        group.MapGet(string.Empty, LandFromQueryAsync);
        return app;
    }

    private static async Task<IResult> LandFromFormAsync(
        HttpContext context, MarketplaceLanding landing, AccountSessions sessions, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        if (!context.Request.HasFormContentType)
        {
            return LandingPages.MissingToken();
        }

        var form = await FormInput.TryReadAsync(context.Request, cancellationToken);
        if (form is null)
        {
            return LandingPages.InvalidToken();
        }

        if (FormInput.Problem(form, TokenField, out var token) is not null)
        {
            return LandingPages.InvalidToken();
        }

        return await LandAsync(context, token ?? string.Empty, landing, sessions, portal.Value, cancellationToken);
    }

    private static Task<IResult> LandFromQueryAsync(
        HttpContext context, MarketplaceLanding landing, AccountSessions sessions, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var tokens = context.Request.Query[TokenField];
        return tokens.Count > 1
            ? Task.FromResult<IResult>(LandingPages.InvalidToken())
            : LandAsync(context, tokens.ToString(), landing, sessions, portal.Value, cancellationToken);
    }

    /// <summary>Tokens are printable ASCII; anything else is not one and is not sent on to AWS.</summary>
    private static bool IsTokenCharacter(char c) => c is > ' ' and < (char)127;

    private static async Task<IResult> LandAsync(
        HttpContext context, string token, MarketplaceLanding landing, AccountSessions sessions, PortalOptions options, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return LandingPages.MissingToken();
        }

        if (token.Length > MaxTokenLength || !token.Trim().All(IsTokenCharacter))
        {
            return LandingPages.InvalidToken();
        }

        // A dependency that does not answer propagates to the one failure answer (Hosting.Failures): a 503 page.
        var outcome = await landing.ExecuteAsync(new Secret(token.Trim()), cancellationToken);

        // The token proved who the buyer is: they are signed in to the account page (usage, key rotation).
        var buyer = outcome switch
        {
            LandingOutcome.Granted granted => granted.SubscriberId,
            LandingOutcome.Pending pending => pending.SubscriberId,
            LandingOutcome.Activating activating => activating.SubscriberId,
            _ => null,
        };
        if (buyer is not null)
        {
            SessionCookie.Write(context, await sessions.StartAsync(buyer, cancellationToken));
        }

        return outcome switch
        {
            LandingOutcome.Granted granted => LandingPages.Key(granted.ApiKeyOnce, granted.ApiKeyHint, active: true, options),
            LandingOutcome.Pending pending => LandingPages.Key(pending.ApiKeyOnce, pending.ApiKeyHint, active: false, options),
            LandingOutcome.Activating => SeeOther.To(AccountEndpoints.Path),
            LandingOutcome.UnknownProduct => LandingPages.UnknownProduct(options),
            LandingOutcome.ExpiredToken => LandingPages.ExpiredToken(),
            LandingOutcome.InvalidToken => LandingPages.InvalidToken(),
            LandingOutcome.Ended => LandingPages.Ended(options),
            _ => throw new System.Diagnostics.UnreachableException($"The landing has no page for {outcome.GetType().Name}."),
        };
    }
}
