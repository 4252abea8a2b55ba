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

    public static ContentHttpResult Page(string title, string body, int statusCode = StatusCodes.Status200OK) =>
        TypedResults.Content(Layout(title, body), "text/html; charset=utf-8", statusCode: statusCode);

    public static string Layout(string title, string body) => $$"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
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

    /// <summary>The key, read-only, with a copy button that the script wires up.</summary>
    /// <param name="note">What the holder must know about the key; by default, that it is shown only once.</param>
    public static string KeyBlock(string keyValue, string note = "This is the only time the key is shown. Store it somewhere safe now.") => $"""
        <div class="key">
        <label for="api-key">Your API key</label>
        <input id="api-key" type="text" readonly value="{Encode(keyValue)}" autocomplete="off" spellcheck="false">
        <button type="button" class="copy" data-copy="api-key">Copy</button>
        </div>
        <p class="warning">{Encode(note)}</p>
        """;
}
