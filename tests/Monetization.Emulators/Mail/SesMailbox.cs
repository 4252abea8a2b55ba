using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Monetization.Emulators.Faults;

namespace Monetization.Emulators.Mail;

/// <summary>One message SES (moto) accepted: what was sent, the id moto gave it and when it answered.</summary>
public sealed record SentEmail(
    string MessageId,
    DateTimeOffset AcceptedAt,
    string From,
    IReadOnlyList<string> To,
    string Subject,
    string? TextBody,
    string? HtmlBody,
    string? ConfigurationSetName);

/// <summary>
/// The e-mails SES accepted on their way through the offline environment's proxies: each SES v2
/// <c>SendEmail</c> (<c>POST /v2/email/outbound-emails</c>) moto answered 200, with its <c>MessageId</c>, both bodies
/// and the time of the answer. moto keeps accepted messages too (<see cref="Moto.MotoMailbox"/>), but only one body
/// (the HTML part when there is one) and no time, which a person reading sign-in mail in the sandbox needs.
/// </summary>
public sealed class SesMailbox
{
    public const string SendEmailPath = "/v2/email/outbound-emails";

    private readonly ConcurrentQueue<SentEmail> _messages = new();
    private readonly TimeProvider _time;

    public SesMailbox(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>The tap to put on every proxy SES traffic passes through.</summary>
    public ExchangeTap Tap => new(
        static request => HttpMethods.IsPost(request.Method) && request.Path.Equals(SendEmailPath, StringComparison.Ordinal),
        (exchange, _) =>
        {
            Record(exchange);
            return Task.CompletedTask;
        });

    /// <summary>Newest first.</summary>
    public IReadOnlyList<SentEmail> Messages => [.. _messages.Reverse()];

    /// <summary>The messages to <paramref name="recipient"/>, newest first.</summary>
    public IReadOnlyList<SentEmail> To(string recipient) =>
        [.. Messages.Where(m => m.To.Contains(recipient, StringComparer.OrdinalIgnoreCase))];

    /// <summary>The newest message matching <paramref name="match"/>, waiting up to <paramref name="timeout"/> for it.</summary>
    public async Task<SentEmail> WaitForAsync(Func<SentEmail, bool> match, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(match);
        var deadline = _time.GetUtcNow() + timeout;
        while (true)
        {
            if (Messages.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            if (_time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"No matching e-mail within {timeout}; SES accepted {_messages.Count} message(s).");
            }

            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    private void Record(TappedExchange exchange)
    {
        if (exchange.Status != StatusCodes.Status200OK)
        {
            return;
        }

        using var answer = JsonDocument.Parse(exchange.ResponseBody);
        using var request = JsonDocument.Parse(exchange.RequestBody);
        var root = request.RootElement;
        var simple = Get(Get(root, "Content"), "Simple");
        var body = Get(simple, "Body");
        _messages.Enqueue(new SentEmail(
            Text(answer.RootElement, "MessageId") ?? string.Empty,
            _time.GetUtcNow(),
            Text(root, "FromEmailAddress") ?? string.Empty,
            [.. Strings(Get(Get(root, "Destination"), "ToAddresses"))],
            Text(Get(simple, "Subject"), "Data") ?? string.Empty,
            Text(Get(body, "Text"), "Data"),
            Text(Get(body, "Html"), "Data"),
            Text(root, "ConfigurationSetName")));
    }

    private static JsonElement Get(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    private static string? Text(JsonElement element, string name) =>
        Get(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

    private static IEnumerable<string> Strings(JsonElement array) =>
        array.ValueKind == JsonValueKind.Array ? array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!) : [];
}
