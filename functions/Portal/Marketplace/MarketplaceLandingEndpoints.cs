using Amazon.Runtime;
using Monetization.Aws.Http;
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
public static partial class MarketplaceLandingEndpoints
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

    private static async Task<IResult> LandFromFormAsync(HttpContext context, MarketplaceLanding landing, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!context.Request.HasFormContentType)
        {
            return LandingPages.MissingToken();
        }

        var form = await context.Request.ReadFormAsync(cancellationToken);
        return await LandAsync(form[TokenField].ToString(), landing, loggers, cancellationToken);
    }

    private static Task<IResult> LandFromQueryAsync(HttpContext context, MarketplaceLanding landing, ILoggerFactory loggers, CancellationToken cancellationToken) =>
        LandAsync(context.Request.Query[TokenField].ToString(), landing, loggers, cancellationToken);

    private static async Task<IResult> LandAsync(string token, MarketplaceLanding landing, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(token))
        {
            return LandingPages.MissingToken();
        }

        if (token.Length > MaxTokenLength)
        {
            return LandingPages.InvalidToken();
        }

        LandingOutcome outcome;
        try
        {
            outcome = await landing.ExecuteAsync(new Secret(token.Trim()), cancellationToken);
        }
        catch (Exception e) when (IsTransient(e, cancellationToken))
        {
            // The clients have already retried; the buyer can come back from Marketplace with a fresh token.
            LogUnavailable(loggers.CreateLogger(typeof(MarketplaceLandingEndpoints)), e);
            return LandingPages.Unavailable();
        }

        return outcome switch
        {
            LandingOutcome.Granted granted => LandingPages.Key(granted.ApiKey, active: true),
            LandingOutcome.Pending pending => LandingPages.Key(pending.ApiKey, active: false),
            LandingOutcome.UnknownProduct => LandingPages.UnknownProduct(),
            LandingOutcome.ExpiredToken => LandingPages.ExpiredToken(),
            _ => LandingPages.InvalidToken(),
        };
    }

    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        AwsServiceException aws => aws.Kind is AwsErrorKind.Throttled or AwsErrorKind.ServiceUnavailable,
        AmazonServiceException dynamo => dynamo.Retryable is not null || (int)dynamo.StatusCode >= 500,
        HttpRequestException => true,
        // An HttpClient timeout, not the buyer going away.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace landing could not be completed: a service did not answer")]
    private static partial void LogUnavailable(ILogger logger, Exception exception);
}
