using Monetization.Aws.Http;
using Monetization.Core;
using Monetization.Core.Mail;

namespace Monetization.Aws.Email;

/// <summary>
/// <see cref="IEmailSender"/> on SES API v2 <c>SendEmail</c>: one recipient, a text and an HTML body in UTF-8, from
/// <see cref="EmailSettings.FromAddress"/>. Whatever SES did not take is a <see cref="DependencyUnavailableException"/>
/// (the port's one failure): throttled or failing after the client's retries, unreachable, or refused for a reason of
/// the deployment (<see cref="EmailSendingRefusedException"/>, whose message says what to fix). The recipient's address
/// never reaches an exception message, even where SES repeats it.
/// </summary>
public sealed class SesEmailSender : IEmailSender
{
    private readonly SesClient _client;
    private readonly SenderAddress _sender;
    private readonly string? _configurationSet;
    private readonly string _region;

    public SesEmailSender(SesClient client, EmailSettings settings, string region)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        _client = client;
        _sender = settings.Sender();
        _configurationSet = settings.ConfigurationSet();
        _region = region;
    }

    public async Task<string> SendAsync(OutgoingEmail message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrWhiteSpace(message.To);
        var request = new SendEmailRequest(
            _sender.WireForm,
            new SesDestination([message.To]),
            new SesEmailContent(new SesSimpleMessage(
                new SesContent(message.Subject),
                new SesBody(new SesContent(message.TextBody), new SesContent(message.HtmlBody)))),
            _configurationSet);
        try
        {
            return await _client.SendEmailAsync(request, [new Secret(message.To)], cancellationToken);
        }
        catch (AwsServiceException e) when (Refusal(e) is { } refusal)
        {
            throw new DependencyUnavailableException(SesClient.Service, "SendEmail", refusal);
        }
    }

    /// <summary>The refusals that are the deployment's to fix, with what to fix; null for any other.</summary>
    private EmailSendingRefusedException? Refusal(AwsServiceException e)
    {
        var said = string.IsNullOrEmpty(e.ServiceMessage) ? string.Empty : $" SES said: {e.ServiceMessage}";
        var (setting, fix) = e.ErrorCode switch
        {
            "MessageRejected" => (EmailSettings.FromAddressSetting,
                $"SES rejected the message (MessageRejected). The sender in {EmailSettings.FromAddressSetting} ({_sender.Address}) must be a verified SES identity in {_region} " +
                "(the address itself or its domain), and while the account is in the SES sandbox every recipient must be verified too: " +
                "request production access (preflight checks both)."),
            "MailFromDomainNotVerifiedException" => (EmailSettings.FromAddressSetting,
                $"SES refused the sender's MAIL FROM domain (MailFromDomainNotVerifiedException): the custom MAIL FROM domain of the identity of {EmailSettings.FromAddressSetting} " +
                $"({_sender.Address}) in {_region} is not verified; publish its MX and SPF records or turn the custom MAIL FROM domain off."),
            "AccountSuspendedException" => ("the SES account",
                $"SES has permanently stopped this account's sending in {_region} (AccountSuspendedException); see the SES console's reputation dashboard and contact AWS Support."),
            "SendingPausedException" => ("the SES account",
                $"Sending is paused for this account in {_region} (SendingPausedException): resume it (aws sesv2 put-account-sending-attributes --sending-enabled --region {_region}) " +
                "after checking the SES console's reputation dashboard, or resume the configuration set's sending if it was paused there."),
            "NotFoundException" when _configurationSet is not null => (EmailSettings.ConfigurationSetNameSetting,
                $"SES has no configuration set '{_configurationSet}' in {_region} (NotFoundException): create it, or correct {EmailSettings.ConfigurationSetNameSetting} " +
                "(template parameter EmailConfigurationSet)."),
            _ => ((string?)null, (string?)null),
        };
        return setting is null ? null : new EmailSendingRefusedException(e.ErrorCode, setting, fix + said, e);
    }
}
