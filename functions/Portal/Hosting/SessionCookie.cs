namespace Monetization.Portal.Hosting;

/// <summary>
/// The signed-in customer's cookie: the session token, HttpOnly, <c>SameSite=Lax</c> (a link from the sign-in e-mail or
/// Stripe's return keeps it), Secure whenever the request came over HTTPS as the trusted scheme says.
/// </summary>
public static class SessionCookie
{
    public const string Name = "monetization-session";

    public static string? Read(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Items[Name] as string ?? context.Request.Cookies[Name];
    }

    public static void Write(HttpContext context, Monetization.Core.Accounts.StartedSession session)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(session);
        var token = session.Token.Reveal();

        // Forms rendered later in this response already belong to the new session.
        context.Items[Name] = token;
        context.Response.Cookies.Append(Name, token, Options(context, session.ExpiresAt));
    }

    public static void Delete(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        context.Items[Name] = string.Empty;
        context.Response.Cookies.Delete(Name, Options(context, expires: null));
    }

    private static CookieOptions Options(HttpContext context, DateTimeOffset? expires) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Secure = context.Request.IsHttps,
        Path = "/",
        IsEssential = true,
        Expires = expires,
    };
}
