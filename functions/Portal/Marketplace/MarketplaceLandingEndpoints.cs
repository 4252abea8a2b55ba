using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core;
using Monetization.Core.Marketplace;

namespace Monetization.Portal.Marketplace;

/// <summary>
/// The subscription URL AWS Marketplace sends a buyer to. Marketplace posts the registration token from its own site,
/// so there is no antiforgery token to check; a token is good for this buyer only and redeemable for a short time.
/// </summary>
/// <remarks>
/// The token is read, resolved and dropped: every answer is rendered in place (never a redirect that could carry it)
/// and nothing logged here names it; <see cref="Secret"/> keeps it out of the flow's logs and exceptions.
/// </remarks>
public static class MarketplaceLandingEndpoints
{
    public const string TokenField = "x-amzn-marketplace-token";

    // Real tokens are a few hundred characters; anything far longer is not one and is not sent on to AWS.
    private const int MaxTokenLength = 4096;

    public static IEndpointRouteBuilder MapMarketplaceLanding(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/marketplace").DisableAntiforgery();
        group.MapPost(string.Empty, LandFromFormAsync);
        group.MapGet(string.Empty, LandFromQueryAsync);
        return app;
    }

    private static async Task<ContentHttpResult> LandFromFormAsync(HttpContext context, MarketplaceLanding landing, CancellationToken cancellationToken)
    {
        if (!context.Request.HasFormContentType)
        {
            return LandingPages.MissingToken();
        }

        var form = await context.Request.ReadFormAsync(cancellationToken);
        return await LandAsync(form[TokenField].ToString(), landing, cancellationToken);
    }

    private static Task<ContentHttpResult> LandFromQueryAsync(HttpContext context, MarketplaceLanding landing, CancellationToken cancellationToken) =>
        LandAsync(context.Request.Query[TokenField].ToString(), landing, cancellationToken);

    private static async Task<ContentHttpResult> LandAsync(string token, MarketplaceLanding landing, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return LandingPages.MissingToken();
        }

        if (token.Length > MaxTokenLength)
        {
            return LandingPages.InvalidToken();
        }

        // A dependency that does not answer propagates to the one failure answer (Hosting.Failures): a 503 page.
        var outcome = await landing.ExecuteAsync(new Secret(token.Trim()), cancellationToken);

        return outcome switch
        {
            LandingOutcome.Granted granted => LandingPages.Key(granted.ApiKey, active: true),
            LandingOutcome.Pending pending => LandingPages.Key(pending.ApiKey, active: false),
            LandingOutcome.UnknownProduct => LandingPages.UnknownProduct(),
            LandingOutcome.ExpiredToken => LandingPages.ExpiredToken(),
            LandingOutcome.InvalidToken => LandingPages.InvalidToken(),
            _ => throw new System.Diagnostics.UnreachableException($"The landing has no page for {outcome.GetType().Name}."),
        };
    }
}
