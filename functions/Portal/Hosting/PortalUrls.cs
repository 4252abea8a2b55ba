namespace Monetization.Portal.Hosting;

/// <summary>
/// Absolute addresses of this Portal for links that leave it (a mailed sign-in link, Stripe's return URLs): the
/// request's trusted scheme (<see cref="TrustedClient"/>), its host and path base, and the path.
/// </summary>
public static class PortalUrls
{
    public static Uri Of(HttpRequest request, string pathAndQuery)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(pathAndQuery);
        return new Uri($"{request.Scheme}://{request.Host}{request.PathBase}{pathAndQuery}");
    }
}
