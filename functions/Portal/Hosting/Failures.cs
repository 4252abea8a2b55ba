using Monetization.Portal.Marketplace;
using Microsoft.AspNetCore.Diagnostics;
using Monetization.Core;

namespace Monetization.Portal.Hosting;

/// <summary>
/// What every endpoint answers when it throws: a dependency that did not answer usably (anywhere in the exception's
/// chain, as flows wrap it) is a 503 with <c>Retry-After</c>; a request the server could not read is the 4xx it is;
/// anything else is a 500 that claims no outage. The one place these answers are made.
/// </summary>
public static partial class Failures
{
    /// <summary>
    /// A failed registration withdrew its access and released its claim, and the clients have already retried, so a
    /// retry may start at once; a few seconds give a throttled service room to recover.
    /// </summary>
    public const int RetryAfterSeconds = 5;

    public static IApplicationBuilder UseFailurePages(this IApplicationBuilder app) =>
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            ExceptionHandler = HandleAsync,
            StatusCodeSelector = StatusFor,

            // The sender's mistakes need no stack trace, and an outage is logged below as one line; a 500 is a bug
            // and keeps the middleware's error with its stack trace.
            SuppressDiagnosticsCallback = context => StatusFor(context.Exception) < StatusCodes.Status500InternalServerError
                || FindUnavailable(context.Exception) is not null,
        });

    public static DependencyUnavailableException? FindUnavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DependencyUnavailableException unavailable:
                    return unavailable;
                case AggregateException aggregate:
                    return aggregate.InnerExceptions.Select(FindUnavailable).FirstOrDefault(u => u is not null);
            }
        }

        return null;
    }

    private static int StatusFor(Exception exception) => exception switch
    {
        _ when FindUnavailable(exception) is not null => StatusCodes.Status503ServiceUnavailable,
        BadHttpRequestException bad => bad.StatusCode,

        // A body the form or JSON reader could not decode, wherever an endpoint read it.
        InvalidDataException => StatusCodes.Status400BadRequest,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static Task HandleAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var status = error is null ? StatusCodes.Status500InternalServerError : StatusFor(error);
        if (status == StatusCodes.Status503ServiceUnavailable)
        {
            var unavailable = FindUnavailable(error)!;
            LogUnavailable(context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Failures)), unavailable, unavailable.Dependency, unavailable.Operation);
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);

            // A buyer AWS Marketplace sent here pays through AWS, never signed up here, and gets back by AWS's link.
            return context.Request.Path.StartsWithSegments(MarketplaceLandingEndpoints.Path)
                ? ErrorResponses.WriteAsync(
                    context,
                    status,
                    "Please try again in a moment",
                    "A service we depend on did not answer, so your access is not set up yet. Your AWS Marketplace subscription is not affected: reload this page in a moment.",
                    LandingPages.ReturnToMarketplace)
                : ErrorResponses.WriteAsync(
                    context,
                    status,
                    "Please try again in a moment",
                    "A service we depend on did not answer, so nothing was set up and nothing was charged. Please try again in a moment.");
        }

        return status switch
        {
            StatusCodes.Status413PayloadTooLarge => ErrorResponses.WriteAsync(context, status, "Request too large", "The request body is too large."),
            < 500 => ErrorResponses.WriteAsync(context, status, "Bad request", "The request could not be read. Check what was sent and try again."),
            _ => ErrorResponses.WriteAsync(context, status, "Something went wrong", "Something went wrong on our side and the request was not completed. Please try again later."),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered 503: {Dependency} did not answer {Operation} usably")]
    private static partial void LogUnavailable(ILogger logger, Exception exception, string dependency, string operation);
}
