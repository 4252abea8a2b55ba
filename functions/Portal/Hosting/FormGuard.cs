using System.Security.Cryptography;
using System.Text;
using Monetization.Core.Accounts;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Hosting;

/// <summary>
/// Cross-site request forgery protection for every form the Portal renders, the same on every instance and across
/// restarts, with no key to keep: a random value in a <c>SameSite=Strict</c> HttpOnly cookie, and in each form a field
/// derived from it and from the browser's session cookie (SHA-256 of both). Another site can neither read the cookie
/// nor set it, so it cannot produce the field; and because the field names the session, a cookie planted before
/// sign-in does not carry over to the signed-in customer's forms.
/// </summary>
public static class FormGuard
{
    public const string CookieName = "monetization-form";
    public const string FieldName = "__antiforgery";

    /// <summary>The hidden field for a form rendered in answer to <paramref name="context"/>; sets the cookie when the browser has none.</summary>
    public static string Field(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cookie = context.Items[CookieName] as string ?? context.Request.Cookies[CookieName];
        if (!AccountTokens.IsWellFormed(cookie))
        {
            cookie = AccountTokens.New().Reveal();
            context.Items[CookieName] = cookie;
            context.Response.Cookies.Append(CookieName, cookie, new CookieOptions
            {
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Secure = context.Request.IsHttps,
                Path = "/",
                IsEssential = true,
            });
        }

        return $"<input type=\"hidden\" name=\"{FieldName}\" value=\"{Html.Encode(Expected(cookie!, SessionCookie.Read(context)))}\">";
    }

    /// <summary>Whether the posted form carries the field this browser's cookies call for.</summary>
    public static bool IsValid(HttpContext context, IFormCollection form)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(form);
        var cookie = context.Request.Cookies[CookieName];
        var posted = form[FieldName];
        if (!AccountTokens.IsWellFormed(cookie) || posted.Count != 1 || posted[0] is not { } field)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Expected(cookie!, SessionCookie.Read(context))),
            Encoding.ASCII.GetBytes(field));
    }

    /// <summary>The posted form when it can be read and carries the guard this browser's cookies call for; else null.</summary>
    public static async Task<IFormCollection?> ReadGuardedAsync(HttpContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var form = context.Request.HasFormContentType ? await FormInput.TryReadAsync(context.Request, cancellationToken) : null;
        return form is not null && IsValid(context, form) ? form : null;
    }

    private static string Expected(string cookie, string? session) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes($"form|{cookie}|{session}")));
}
