using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Monetization.Emulators.Mail;

namespace Monetization.Sandbox;

/// <summary>
/// The sandbox's mailbox: the e-mails SES (moto) accepted, newest first, as a plain HTML page (time, recipient,
/// subject, the text body with its links clickable; everything escaped, no script) at <c>/mailbox/</c> and as JSON
/// at <c>/mailbox/messages.json</c>.
/// </summary>
internal static partial class MailboxPage
{
    public const string Path = "/mailbox/";

    private const string Style =
        "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.4}" +
        "article{border-top:1px solid #ccc;padding:.5rem 0 1rem}dl{display:grid;grid-template-columns:max-content 1fr;gap:0 1rem}" +
        "dt{font-weight:bold}dd{margin:0}pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f6f6;padding:.75rem}";

    /// <summary>The page allows nothing but its own style sheet, named by its hash.</summary>
    private static readonly string ContentSecurityPolicy =
        $"default-src 'none'; style-src 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(Style)))}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void MapMailbox(this WebApplication app, SesMailbox mailbox)
    {
        app.MapGet(Path, (HttpContext context) =>
        {
            Protect(context.Response);
            return Results.Content(Render(mailbox.Messages), "text/html; charset=utf-8");
        });
        app.MapGet(Path + "messages.json", (HttpContext context) =>
        {
            Protect(context.Response);
            return Results.Json(new
            {
                messages = mailbox.Messages.Select(m => new
                {
                    messageId = m.MessageId,
                    acceptedAt = m.AcceptedAt,
                    from = m.From,
                    to = m.To,
                    subject = m.Subject,
                    text = m.TextBody,
                    html = m.HtmlBody,
                    configurationSetName = m.ConfigurationSetName,
                }),
            });
        });
    }

    private static void Protect(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.CacheControl = "no-store";

        // The messages carry sign-in links: following one tells the next page nothing about this one.
        response.Headers["Referrer-Policy"] = "no-referrer";
    }

    public static string Render(IReadOnlyList<SentEmail> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var html = new StringBuilder()
            .Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sandbox mailbox</title>")
            .Append("<style>").Append(Style).Append("</style></head><body><h1>Sandbox mailbox</h1>")
            .Append("<p>The e-mails SES (moto) accepted, newest first: ")
            .Append(messages.Count.ToString(CultureInfo.InvariantCulture))
            .Append(messages.Count == 1 ? " message" : " messages")
            .Append(". Reload to see new ones; <a href=\"messages.json\">as JSON</a>.</p>");
        foreach (var message in messages)
        {
            var time = message.AcceptedAt.ToUniversalTime();
            html.Append("<article><h2>").Append(Encode(message.Subject)).Append("</h2><dl>")
                .Append("<dt>Time</dt><dd><time datetime=\"").Append(time.ToString("O", CultureInfo.InvariantCulture)).Append("\">")
                .Append(time.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)).Append("</time></dd>")
                .Append("<dt>To</dt><dd>").Append(Encode(string.Join(", ", message.To))).Append("</dd>")
                .Append("<dt>From</dt><dd>").Append(Encode(message.From)).Append("</dd>")
                .Append("<dt>Message id</dt><dd>").Append(Encode(message.MessageId)).Append("</dd></dl>")
                .Append(message.TextBody is { } text ? $"<pre>{Linked(text)}</pre>" : "<p>(no text part)</p>")
                .Append("</article>");
        }

        return html.Append("</body></html>").ToString();
    }

    /// <summary>The text escaped, each http(s) URL in it a link (trailing punctuation stays text).</summary>
    private static string Linked(string text)
    {
        var html = new StringBuilder();
        var last = 0;
        foreach (Match match in Url().Matches(text))
        {
            html.Append(Encode(text[last..match.Index]));
            var url = Encode(match.Value);
            html.Append("<a href=\"").Append(url).Append("\">").Append(url).Append("</a>");
            last = match.Index + match.Length;
        }

        return html.Append(Encode(text[last..])).ToString();
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);

    [GeneratedRegex(@"https?://[^\s<>""']+?(?=[.,;:!?)\]]*(?:\s|$|[<>""']))", RegexOptions.CultureInvariant)]
    private static partial Regex Url();
}
