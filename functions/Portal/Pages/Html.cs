using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Monetization.Portal.Pages;

/// <summary>
/// Server-rendered pages. Every value that came from a user or a service passes through <see cref="Encode"/>; the
/// layout carries no inline script or style so the content security policy can forbid both.
/// </summary>
public static class Html
{
    public static string Encode(string? value) => HtmlEncoder.Default.Encode(value ?? string.Empty);

    /// <param name="refreshSeconds">Reload the page after this long (a page waiting for something in the background); null: never.</param>
    public static ContentHttpResult Page(string title, string body, int statusCode = StatusCodes.Status200OK, int? refreshSeconds = null) =>
        TypedResults.Content(Layout(title, body, refreshSeconds), "text/html; charset=utf-8", statusCode: statusCode);

    public static string Layout(string title, string body, int? refreshSeconds = null) => $$"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        {{(refreshSeconds is { } seconds ? $"<meta http-equiv=\"refresh\" content=\"{seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}\">" : string.Empty)}}
        <title>{{Encode(title)}}</title>
        <link rel="stylesheet" href="/site.css">
        </head>
        <body>
        <main>
        {{body}}
        </main>
        <script src="/app.js" defer></script>
        </body>
        </html>
        """;

    /// <summary>
    /// The key in full (it wraps rather than scrolls out of sight), its id, and a copy button that the script wires
    /// up. The same markup as the script's success view builds.
    /// </summary>
    /// <param name="note">What the holder must know about the key; by default, that it is shown only once.</param>
    public static string KeyBlock(string keyValue, string? keyId, string note = "This is the only time the key is shown. Store it somewhere safe now.") => $"""
        <div class="key">
        <p class="key-label" id="api-key-label">Your API key</p>
        <code id="api-key" class="key-value" aria-labelledby="api-key-label">{Encode(keyValue)}</code>
        <button type="button" class="copy" data-copy="api-key">Copy key</button>
        </div>
        {(keyId is null ? string.Empty : $"<p class=\"key-id\">Key id: <code id=\"api-key-id\">{Encode(keyId)}</code></p>")}
        <p class="warning">{Encode(note)}</p>
        """;

    /// <summary>How to call the API with the key, ready to copy.</summary>
    public static string CallExample(Uri apiBase, string keyValue) => $"""
        <h2>Calling the API</h2>
        <p>Send the key in the <code>x-api-key</code> header of every request to <code>{Encode(apiBase.ToString())}</code>, for example:</p>
        <pre class="example"><code id="curl-example">{Encode(CurlCommand(apiBase, keyValue))}</code></pre>
        <button type="button" class="copy" data-copy="curl-example">Copy command</button>
        """;

    public static string CurlCommand(Uri apiBase, string keyValue) => $"curl -H \"x-api-key: {keyValue}\" {apiBase.ToString().TrimEnd('/')}/";

    /// <summary>A sentence naming where to get help, or nothing when no contact is configured.</summary>
    public static string Support(string? contact, string sentence = "Questions? Contact support at {0}.")
    {
        if (string.IsNullOrWhiteSpace(contact))
        {
            return string.Empty;
        }

        var shown = contact.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) ? contact["mailto:".Length..] : contact;
        return "<p class=\"support\">" + string.Format(System.Globalization.CultureInfo.InvariantCulture, Encode(sentence), $"<a href=\"{Encode(contact)}\">{Encode(shown)}</a>") + "</p>";
    }
}
