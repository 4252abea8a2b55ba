namespace Monetization.Portal.Hosting;

public static class SecurityHeaders
{
    // No inline script or style anywhere, so the policy can forbid both; the page only talks to its own origin.
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    /// <summary>
    /// Stripe's hosted pages. The account page's Subscribe and Manage billing buttons are form posts answered with a
    /// redirect there, and browsers hold a form's redirects to <c>form-action</c> too.
    /// </summary>
    public static readonly IReadOnlyList<string> StripeHostedPages = ["https://checkout.stripe.com", "https://billing.stripe.com"];

    /// <summary>The policy of the pages, whose forms may also lead to <paramref name="formTargets"/> (origins).</summary>
    public static string PagePolicy(IEnumerable<string> formTargets) =>
        ContentSecurityPolicy.Replace("form-action 'self'", string.Join(' ', ["form-action 'self'", .. formTargets]), StringComparison.Ordinal);

    private const string StrictTransportSecurity = "max-age=31536000; includeSubDomains";

    /// <summary>
    /// The headers every answer carries, whoever writes it: the pipeline (<see cref="UseSecurityHeaders"/>) and the
    /// server's own refusals of requests it could not read (<see cref="ServerRejections"/>).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> For(bool https)
    {
        yield return new("Content-Security-Policy", ContentSecurityPolicy);
        yield return new("X-Content-Type-Options", "nosniff");
        yield return new("X-Frame-Options", "DENY");
        yield return new("Referrer-Policy", "no-referrer");
        yield return new("Cross-Origin-Opener-Policy", "same-origin");

        // Only over HTTPS (directly, or behind API Gateway as TrustedClient decides; never because a header a
        // client can write says so): a browser ignores it over plain HTTP, and the offline sandbox must stay
        // reachable over it.
        if (https)
        {
            yield return new("Strict-Transport-Security", StrictTransportSecurity);
        }
    }

    /// <summary>
    /// Set as the response starts, so every answer carries them: error pages, rate-limit refusals and answers the
    /// exception handler rewrote (it clears the headers set before it ran).
    /// </summary>
    /// <param name="pagePolicy">The content security policy of the pipeline's answers (see <see cref="PagePolicy"/>).</param>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app, Lazy<string> pagePolicy) => app.Use(async (context, next) =>
    {
        context.Response.OnStarting(() =>
        {
            var headers = context.Response.Headers;
            foreach (var (name, value) in For(context.Request.IsHttps))
            {
                headers[name] = value;
            }

            headers.ContentSecurityPolicy = pagePolicy.Value;

            // Pages may carry an API key: never store them anywhere. Assets set their own caching.
            if (!headers.ContainsKey("Cache-Control"))
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        });
        await next(context);
    });
}
