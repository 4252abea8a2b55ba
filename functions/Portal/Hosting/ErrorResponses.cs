using Microsoft.Net.Http.Headers;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Hosting;

/// <summary>
/// Error answers in the form the caller reads: a page for a browser (its <c>Accept</c> prefers <c>text/html</c>, as a
/// form post without JavaScript does), problem+json for everyone else.
/// </summary>
public static class ErrorResponses
{
    public static bool PrefersHtml(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted) || accepted.Count == 0)
        {
            return false;
        }

        double html = 0, json = 0;
        foreach (var type in accepted)
        {
            var quality = type.Quality ?? 1;
            if (type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, quality);
            }
            else if (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || type.MediaType.Equals("application/problem+json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
        }

        return html > json;
    }

    /// <summary>Where a page sends its reader on (HTML): the sign-up page, unless the reader came from elsewhere.</summary>
    public const string SignUpLink = """<a href="/">Go to the sign-up page</a>""";

    /// <param name="refreshSeconds">When given, the HTML page reloads itself after that long (a refused GET, safe to repeat).</param>
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, string link = SignUpLink, int? refreshSeconds = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        IResult result = PrefersHtml(context.Request)
            ? Html.Page(title, $"""
                <h1>{Html.Encode(title)}</h1>
                <p class="error" role="alert">{Html.Encode(detail)}</p>
                <p>{link}</p>
                """, status, refreshSeconds)
            : TypedResults.Problem(detail, statusCode: status, title: title);
        return result.ExecuteAsync(context);
    }
}
