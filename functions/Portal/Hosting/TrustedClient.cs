namespace Monetization.Portal.Hosting;

/// <summary>Where the Portal learns who the client is and whether it came over HTTPS.</summary>
public enum ClientAddressSource
{
    /// <summary>The TCP connection: Kestrel reached directly (local runs, the sandbox, tests). No header is trusted.</summary>
    Connection,

    /// <summary>
    /// Behind API Gateway (HTTP API) and the Lambda Web Adapter: the request context the adapter passes
    /// (<see cref="LambdaRequestContext"/>) names the client's address, and the scheme is HTTPS, the only one an HTTP API
    /// endpoint serves.
    /// </summary>
    LambdaRequestContext,
}

/// <summary>
/// Decides once per request, before anything reads them, the client's address (<c>Connection.RemoteIpAddress</c>) and
/// scheme (<c>Request.Scheme</c>), so the per-client rate limits, HSTS and the cookies' Secure flag all follow the same
/// answer. Headers a client can write (<c>X-Forwarded-For</c>, <c>X-Forwarded-Proto</c>) are never read: a client that
/// varied them would get a fresh rate-limit budget per request and could switch on HSTS.
/// </summary>
internal static class TrustedClient
{
    /// <param name="options">Read when the first request arrives, as the pipeline's other settings.</param>
    public static IApplicationBuilder UseTrustedClient(this IApplicationBuilder app, Lazy<PortalOptions> options) => app.Use((context, next) =>
    {
        if (options.Value.ClientAddressSource == ClientAddressSource.LambdaRequestContext)
        {
            FromLambdaRequestContext(context);
        }

        return next(context);
    });

    /// <summary>
    /// The request context's <c>http.sourceIp</c> becomes the client's address. Without a usable one (no header, two,
    /// malformed JSON, no address: not a request API Gateway sent through the adapter, such as the adapter's own
    /// readiness check) the connection's address stays, loopback on Lambda: one partition all such requests share,
    /// never one a client chose.
    /// </summary>
    private static void FromLambdaRequestContext(HttpContext context)
    {
        if (context.Request.Headers[LambdaRequestContext.Header] is { Count: 1 } header
            && LambdaRequestContext.SourceIpOf(header.ToString()) is { } address)
        {
            context.Connection.RemoteIpAddress = address;
        }

        context.Request.Scheme = Uri.UriSchemeHttps;
    }
}
