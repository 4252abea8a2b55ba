using Monetization.Emulators.Mail;

namespace Monetization.Tests.Accounts;

/// <summary>
/// The mail the real Portal sent through SES (moto, behind the offline environment's proxy), read the way a person
/// reads their inbox: by address as they type it, the newest sign-in link first.
/// </summary>
public sealed class Inbox(SesMailbox mailbox)
{
    public int Count => mailbox.Messages.Count;

    /// <summary>The messages to the address, newest first (the Portal sends to its normalised form).</summary>
    public IReadOnlyList<SentEmail> To(string address)
    {
        var normalized = Monetization.Core.Registration.Email.TryParse(address, out var email, out _) ? email.Normalized : address;
        return mailbox.To(normalized);
    }

    /// <summary>How many messages went to addresses matching <paramref name="recipient"/>.</summary>
    public int CountTo(Func<string, bool> recipient) => mailbox.Messages.Count(m => m.To.Any(recipient));

    /// <summary>The sign-in link of the newest message to <paramref name="address"/>.</summary>
    public Uri LinkFor(string address) =>
        To(address) is { Count: > 0 } messages
            ? CapturedMail.LinkIn(messages[0].TextBody ?? string.Empty)
            : throw new InvalidOperationException($"No e-mail was sent to {address}.");
}
