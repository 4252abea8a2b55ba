namespace Monetization.Portal.Hosting;

public static class SecurityHeaders
{
    // No inline script or style anywhere, so the policy can forbid both; the page only talks to its own origin.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>
    /// Set as the response starts, so every answer carries them: error pages, rate-limit refusals and answers the
    /// exception handler rewrote (it clears the headers set before it ran).
    /// </summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        context.Response.OnStarting(static state =>
        {
            var context = (HttpContext)state;
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers["Cross-Origin-Opener-Policy"] = "same-origin";

            // Pages may carry an API key: never store them anywhere. Assets set their own caching.
            if (!headers.ContainsKey("Cache-Control"))
            {
                headers.CacheControl = "no-store";
            }

            // Only over HTTPS (directly, or as API Gateway tells the adapter with X-Forwarded-Proto): a browser
            // ignores it over plain HTTP, and the offline sandbox must stay reachable over it.
            if (context.Request.IsHttps)
            {
                headers.StrictTransportSecurity = "max-age=31536000; includeSubDomains";
            }

            return Task.CompletedTask;
        }, context);
        await next(context);
    });
}
