namespace Monetization.Core.Mail;

/// <summary>One message to one recipient, as plain text and as HTML.</summary>
/// <param name="To">The recipient's address. It is personal data: it never appears in a log line or an identifier.</param>
public sealed record OutgoingEmail(string To, string Subject, string TextBody, string HtmlBody)
{
    /// <summary>Names no recipient: the address is personal data.</summary>
    public override string ToString() => $"e-mail \"{Subject}\"";
}

/// <summary>Sends transactional e-mail (Amazon SES in AWS) from the configured sender address.</summary>
public interface IEmailSender
{
    /// <returns>The provider's id of the accepted message.</returns>
    /// <exception cref="DependencyUnavailableException">The provider did not accept the message.</exception>
    Task<string> SendAsync(OutgoingEmail message, CancellationToken cancellationToken);
}
