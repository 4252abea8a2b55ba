using System.Text.Json;

namespace Monetization.Emulators.Moto;

/// <summary>One message moto's SES holds: what it kept of an accepted SendEmail.</summary>
/// <param name="From">The <c>FromEmailAddress</c> as sent, display name included.</param>
/// <param name="Body">The HTML part when the message had one, otherwise the text part: moto 5.2's SES v2 SendEmail keeps one body.</param>
public sealed record MotoSentEmail(
    string MessageId,
    string From,
    IReadOnlyList<string> To,
    IReadOnlyList<string> Cc,
    IReadOnlyList<string> Bcc,
    string Subject,
    string Body);

/// <summary>
/// The messages moto_server's SES accepted (v1 and v2 share its store), read from moto's own state dump
/// <c>GET /moto-api/data.json</c>: under <c>ses.Message</c> one object per message with <c>id</c>, <c>source</c>,
/// <c>destinations</c> (<c>ToAddresses</c>, <c>CcAddresses</c>, <c>BccAddresses</c>), <c>subject</c> and <c>body</c>, in the order
/// they were sent, across every account and region. moto keeps no time and, for a message with both parts, only the
/// HTML one; <c>/moto-api/reset</c> forgets them. Raw messages (<c>ses.RawMessage</c>) are not read.
/// </summary>
public static class MotoMailbox
{
    /// <returns>Newest first.</returns>
    public static async Task<IReadOnlyList<MotoSentEmail>> ReadAsync(Uri motoEndpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(motoEndpoint);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(new Uri(motoEndpoint, "/moto-api/data.json"), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (!document.RootElement.TryGetProperty("ses", out var ses) || !ses.TryGetProperty("Message", out var messages))
        {
            return [];
        }

        return [.. messages.EnumerateArray().Select(Read).Reverse()];
    }

    /// <summary>The messages to <paramref name="recipient"/> (To, Cc or Bcc), newest first.</summary>
    public static async Task<IReadOnlyList<MotoSentEmail>> ReadToAsync(Uri motoEndpoint, string recipient, CancellationToken cancellationToken = default) =>
        [.. (await ReadAsync(motoEndpoint, cancellationToken).ConfigureAwait(false))
            .Where(m => m.To.Concat(m.Cc).Concat(m.Bcc).Contains(recipient, StringComparer.OrdinalIgnoreCase))];

    private static MotoSentEmail Read(JsonElement message)
    {
        var destinations = message.TryGetProperty("destinations", out var d) ? d : default;
        return new MotoSentEmail(
            Text(message, "id"),
            Text(message, "source"),
            Addresses(destinations, "ToAddresses"),
            Addresses(destinations, "CcAddresses"),
            Addresses(destinations, "BccAddresses"),
            Text(message, "subject"),
            Text(message, "body"));
    }

    private static string Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;

    private static IReadOnlyList<string> Addresses(JsonElement destinations, string name) =>
        destinations.ValueKind == JsonValueKind.Object && destinations.TryGetProperty(name, out var list) && list.ValueKind == JsonValueKind.Array
            ? [.. list.EnumerateArray().Select(a => a.GetString() ?? string.Empty)]
            : [];
}
