using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Logging;
using Microsoft.Extensions.Logging;

namespace Monetization.Http;

/// <summary>
/// One line per outgoing call, retries included, in place of HttpClientFactory's four: the service, the method, the
/// route with every id replaced by <c>{id}</c> and no query string, the status and the time taken. Ids of customers,
/// subscriptions, sessions and keys, and query strings (which name customers), never reach the log.
/// </summary>
public sealed partial class OutgoingCallLogger(string service, ILogger<OutgoingCallLogger> logger) : IHttpClientLogger
{
    /// <summary>The path words of the APIs the project calls; any other segment is taken for an id.</summary>
    private static readonly HashSet<string> RouteWords = new(StringComparer.Ordinal)
    {
        "v1", "v2", "customers", "checkout", "sessions", "subscriptions", "billing", "meters", "meter_events",
        "meter_event_session", "meter_event_stream", "event_summaries", "prices", "products", "webhook_endpoints",
        "billing_portal", "expire", "invoices", "invoiceitems", "restapis", "resources", "stages", "apikeys",
        "usageplans", "keys", "usage", "deployments", "methods", "integration", "outbound-emails", "email",
    };

    public object? LogRequestStart(HttpRequestMessage request) => Stopwatch.GetTimestamp();

    public void LogRequestStop(object? context, HttpRequestMessage request, HttpResponseMessage response, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        LogAnswered(logger, service, request.Method.Method, Route(request), (int)response.StatusCode, (long)elapsed.TotalMilliseconds);
    }

    public void LogRequestFailed(object? context, HttpRequestMessage request, HttpResponseMessage? response, Exception exception, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(exception);

        // The exception's type, not its message: messages of HTTP failures repeat the URL.
        LogFailed(logger, service, request.Method.Method, Route(request), exception.GetType().Name, (long)elapsed.TotalMilliseconds);
    }

    /// <summary>The path with ids replaced, and the JSON-protocol operation (<c>X-Amz-Target</c>) when there is one.</summary>
    public static string Route(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var segments = (request.RequestUri?.AbsolutePath ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var route = "/" + string.Join('/', segments.Select(s => RouteWords.Contains(s) ? s : "{id}"));
        return request.Headers.TryGetValues("X-Amz-Target", out var targets) && targets.FirstOrDefault() is { } target
            ? $"{route} {target}"
            : route;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Service} {Method} {Route} answered {Status} in {ElapsedMs} ms")]
    private static partial void LogAnswered(ILogger logger, string service, string method, string route, int status, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Service} {Method} {Route} failed after {ElapsedMs} ms ({Exception})")]
    private static partial void LogFailed(ILogger logger, string service, string method, string route, string exception, long elapsedMs);
}

public static class OutgoingCallLoggingExtensions
{
    /// <summary>Replaces the factory's request logging with one <see cref="OutgoingCallLogger"/> line per call, retries included.</summary>
    public static IHttpClientBuilder LogCallsAs(this IHttpClientBuilder builder, string service)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .RemoveAllLoggers()
            .AddLogger(sp => new OutgoingCallLogger(service, sp.GetRequiredService<ILogger<OutgoingCallLogger>>()), wrapHandlersPipeline: true);
    }
}
