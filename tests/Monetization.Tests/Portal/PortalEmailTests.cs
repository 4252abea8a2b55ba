using Microsoft.Extensions.DependencyInjection;
using Monetization.Core;
using Monetization.Core.Mail;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Moto;
using Monetization.Tests.Registration;

namespace Monetization.Tests.Portal;

/// <summary>
/// The e-mail port as the Portal registers it, against the offline environment's SES (moto, behind its proxy): the
/// sender and configuration set come from the Portal's settings, the call goes out as the Portal's (recorded for the
/// IAM check), and no log line names the recipient or carries the body.
/// </summary>
public sealed class PortalEmailTests(PortalFixture portal) : IClassFixture<PortalFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static OutgoingEmail Message(string recipient, string token) => new(
        recipient,
        "Your sign-in link",
        $"Sign in: http://127.0.0.1/signin?token={token}",
        $"<p><a href=\"http://127.0.0.1/signin?token={token}\">Sign in</a></p>");

    [Fact]
    public async Task ThePortalsSenderSendsFromTheConfiguredAddressWithTheConfigurationSetAndSesKeepsTheMessage()
    {
        var recipient = $"ada-{Guid.NewGuid():N}@example.org";
        var token = $"tok{Guid.NewGuid():N}";
        var email = portal.Services.GetRequiredService<IEmailSender>();

        var id = await email.SendAsync(Message(recipient, token), Cancel);

        var sent = Assert.Single(portal.Environment.Mailbox.To(recipient));
        Assert.Equal(id, sent.MessageId);
        Assert.Equal(OfflineEnvironment.EmailFromAddress, sent.From);
        Assert.Equal(OfflineEnvironment.EmailConfigurationSet, sent.ConfigurationSetName);
        Assert.Contains(token, sent.TextBody, StringComparison.Ordinal);
        var stored = Assert.Single(await MotoMailbox.ReadToAsync(portal.Environment.Moto.Endpoint, recipient, Cancel));
        Assert.Equal(id, stored.MessageId);
        Assert.Equal("Your sign-in link", stored.Subject);
        Assert.Contains(portal.Logs.Lines, l => l.Contains("ses POST /v2/email/outbound-emails answered 200", StringComparison.Ordinal));
        Assert.All(portal.Logs.Lines, line =>
        {
            Assert.DoesNotContain(recipient, line, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(token, line, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task AnSesThatKeepsFailingIsDependencyUnavailableToThePortal()
    {
        var recipient = $"grace-{Guid.NewGuid():N}@example.org";
        portal.Environment.Ses.Faults.Add(new FaultRule { PathPrefix = "/v2/email", Status = 503, Count = 4 });
        var email = portal.Services.GetRequiredService<IEmailSender>();

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => email.SendAsync(Message(recipient, "t"), Cancel));

        Assert.Equal("ses", unavailable.Dependency);
        Assert.Empty(portal.Environment.Mailbox.To(recipient));
        Assert.Empty(portal.Environment.Ses.Faults.Active);
    }
}
