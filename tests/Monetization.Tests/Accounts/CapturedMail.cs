using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Monetization.Core;
using Monetization.Core.Mail;

namespace Monetization.Tests.Accounts;

/// <summary>
/// The e-mail port as the in-process Portals of the tests use it: every message kept, in order, and a switch that makes
/// the provider refuse. The SES adapter itself is proven against moto.
/// </summary>
public sealed partial class CapturedMail : IEmailSender
{
    private readonly ConcurrentQueue<OutgoingEmail> _sent = new();
    private int _count;

    public IReadOnlyList<OutgoingEmail> Sent => [.. _sent];

    /// <summary>When set, every send fails as a provider that does not answer.</summary>
    public bool Failing { get; set; }

    public Task<string> SendAsync(OutgoingEmail message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Failing)
        {
            throw new DependencyUnavailableException("ses", "SendEmail", new HttpRequestException("injected"));
        }

        _sent.Enqueue(message);
        return Task.FromResult($"message-{Interlocked.Increment(ref _count)}");
    }

    /// <summary>The messages to the address, as a person types it (the Portal sends to its normalised form).</summary>
    public IReadOnlyList<OutgoingEmail> To(string address)
    {
        var normalized = Monetization.Core.Registration.Email.TryParse(address, out var email, out _) ? email.Normalized : address;
        return [.. _sent.Where(m => string.Equals(m.To, normalized, StringComparison.OrdinalIgnoreCase))];
    }

    /// <summary>The sign-in link of the newest message to <paramref name="address"/>.</summary>
    public Uri LinkFor(string address) =>
        To(address) is { Count: > 0 } messages
            ? LinkIn(messages[^1].TextBody)
            : throw new InvalidOperationException($"No e-mail was sent to {address}.");

    /// <summary>The sign-in link in a message's text.</summary>
    public static Uri LinkIn(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var match = SignInLink().Match(text);
        return match.Success ? new Uri(match.Value) : throw new InvalidOperationException("The message carries no sign-in link.");
    }

    [GeneratedRegex(@"https?://\S+/signin\?token=[A-Za-z0-9_-]{43}")]
    private static partial Regex SignInLink();
}
