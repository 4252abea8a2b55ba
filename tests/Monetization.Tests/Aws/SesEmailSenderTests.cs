using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Aws;
using Monetization.Aws.Email;
using Monetization.Aws.Http;
using Monetization.Core;
using Monetization.Core.Mail;
using Monetization.Emulators;
using Monetization.Emulators.AwsStandIn;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Mail;
using Monetization.Emulators.Moto;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Aws;

/// <summary>
/// The e-mail port on SES against moto_server: what moto keeps of a sent message, the sender it requires verified,
/// and the failure policy under throttling, server errors, time-outs and the refusals a deployment has to fix.
/// </summary>
public sealed class SesEmailSenderTests(MotoFixture moto) : IClassFixture<MotoFixture>
{
    private const string Recipient = "ada@example.org";
    private const string Token = "tok_7Hq2sPz9";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static OutgoingEmail Message(string subject = "Your sign-in link") => new(
        Recipient,
        subject,
        $"Sign in: https://portal.example/signin?token={Token}\n\nThe link works once.",
        $"<p>Sign in: <a href=\"https://portal.example/signin?token={Token}\">sign in</a></p><p>The link works once.</p>");

    private async Task<string> VerifiedSenderAsync(string? identity = null)
    {
        var address = identity ?? $"sender-{Guid.NewGuid():N}@example.com";
        using var ses = AwsTestClients.Http(AwsService.Ses, AwsTestClients.Options(moto.Endpoint));
        await MotoSes.CreateEmailIdentityAsync(ses, address, Cancel);
        return address;
    }

    private static StandInResponse RestError(int status, string type, string message = "scripted") =>
        new(status, JsonSerializer.Serialize(new { message }), Headers: new Dictionary<string, string> { ["x-amzn-ErrorType"] = type });

    [Fact]
    public async Task MotoKeepsTheSentMessageWithItsSenderRecipientSubjectAndHtmlBodyAndTheTextBodyTravelsBesideIt()
    {
        var sender = await VerifiedSenderAsync();
        var wire = new SesMailbox();
        await using var proxy = await FaultProxy.StartAsync(moto.Endpoint, Cancel);
        proxy.Tap = wire.Tap;
        var message = Message();

        var id = await AwsTestClients.EmailSender(proxy.Endpoint, $"Example API <{sender}>").SendAsync(message, Cancel);

        var stored = Assert.Single(await MotoMailbox.ReadAsync(moto.Endpoint, Cancel), m => m.MessageId == id);
        Assert.Equal($"Example API <{sender}>", stored.From);
        Assert.Equal([Recipient], stored.To);
        Assert.Empty(stored.Cc);
        Assert.Empty(stored.Bcc);
        Assert.Equal(message.Subject, stored.Subject);
        Assert.Equal(message.HtmlBody, stored.Body);
        var sent = Assert.Single(wire.Messages);
        Assert.Equal(id, sent.MessageId);
        Assert.Equal(message.TextBody, sent.TextBody);
        Assert.Equal(message.HtmlBody, sent.HtmlBody);
        Assert.Null(sent.ConfigurationSetName);
    }

    [Fact]
    public async Task AnAddressOnAVerifiedDomainMaySendWithoutBeingVerifiedItself()
    {
        var domain = $"d{Guid.NewGuid():N}.example";
        await VerifiedSenderAsync(domain);

        var id = await AwsTestClients.EmailSender(moto.Endpoint, $"no-reply@{domain}").SendAsync(Message(), Cancel);

        Assert.Contains(await MotoMailbox.ReadAsync(moto.Endpoint, Cancel), m => m.MessageId == id && m.From == $"no-reply@{domain}");
    }

    [Fact]
    public async Task AnUnverifiedSenderIsADeploymentProblemNamingTheSettingThatIsNotRetriedAndNamesNoRecipient()
    {
        var sender = $"unverified-{Guid.NewGuid():N}@example.com";
        await using var proxy = await FaultProxy.StartAsync(moto.Endpoint, Cancel);
        proxy.RecordExchanges = true;

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(
            () => AwsTestClients.EmailSender(proxy.Endpoint, sender).SendAsync(Message(), Cancel));

        Assert.Equal("ses", unavailable.Dependency);
        Assert.Equal("SendEmail", unavailable.Operation);
        var refusal = Assert.IsType<EmailSendingRefusedException>(unavailable.InnerException);
        Assert.Equal("MessageRejected", refusal.ErrorCode);
        Assert.Equal(EmailSettings.FromAddressSetting, refusal.Setting);
        Assert.Contains($"The sender in Email:FromAddress ({sender}) must be a verified SES identity in us-east-1", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Recipient, unavailable.ToString(), StringComparison.Ordinal);
        Assert.Single(await proxy.ExchangesAsync(1, Cancel));
        Assert.DoesNotContain(await MotoMailbox.ReadAsync(moto.Endpoint, Cancel), m => m.From == sender);
    }

    [Theory]
    [InlineData(429, "TooManyRequestsException", AwsErrorKind.Throttled)]
    [InlineData(500, "InternalFailure", AwsErrorKind.ServiceUnavailable)]
    [InlineData(503, "ServiceUnavailable", AwsErrorKind.ServiceUnavailable)]
    public async Task ThrottlingAndServerErrorsThatOutlastTheRetriesAreDependencyUnavailableAndSendNothing(int status, string type, AwsErrorKind kind)
    {
        var sender = await VerifiedSenderAsync();
        await using var proxy = await FaultProxy.StartAsync(moto.Endpoint, Cancel);
        proxy.RecordExchanges = true;
        proxy.Faults.Add(new FaultRule
        {
            PathPrefix = "/v2/email",
            Status = status,
            Body = JsonSerializer.Serialize(new { message = "injected" }),
            Headers = new Dictionary<string, string> { ["x-amzn-ErrorType"] = type },
        });

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(
            () => AwsTestClients.EmailSender(proxy.Endpoint, sender, maxRetries: 2).SendAsync(Message(), Cancel));

        Assert.Equal(kind, Assert.IsType<AwsServiceException>(unavailable.InnerException).Kind);
        Assert.Equal(3, (await proxy.ExchangesAsync(3, Cancel)).Count);
        Assert.DoesNotContain(await MotoMailbox.ReadAsync(moto.Endpoint, Cancel), m => m.From == sender);
    }

    [Fact]
    public async Task ThrottlingThatClearsWithinTheRetriesDeliversOnce()
    {
        var sender = await VerifiedSenderAsync();
        await using var proxy = await FaultProxy.StartAsync(moto.Endpoint, Cancel);
        proxy.RecordExchanges = true;
        proxy.Faults.Add(new FaultRule { PathPrefix = "/v2/email", Status = 429, Count = 1, Headers = new Dictionary<string, string> { ["x-amzn-ErrorType"] = "TooManyRequestsException" } });

        var id = await AwsTestClients.EmailSender(proxy.Endpoint, sender).SendAsync(Message(), Cancel);

        Assert.Equal([429, 200], (await proxy.ExchangesAsync(2, Cancel)).Select(e => e.Status));
        Assert.Single(await MotoMailbox.ReadAsync(moto.Endpoint, Cancel), m => m.From == sender && m.MessageId == id);
    }

    [Fact]
    public async Task ASendThatTimesOutOrCannotConnectIsDependencyUnavailable()
    {
        var sender = await VerifiedSenderAsync();
        await using var proxy = await FaultProxy.StartAsync(moto.Endpoint, Cancel);
        proxy.Faults.Add(new FaultRule { PathPrefix = "/v2/email", Kind = FaultKind.Timeout });

        var timedOut = await Assert.ThrowsAsync<DependencyUnavailableException>(
            () => AwsTestClients.EmailSender(proxy.Endpoint, sender, maxRetries: 0, timeout: TimeSpan.FromMilliseconds(500)).SendAsync(Message(), Cancel));
        var unreachable = await Assert.ThrowsAsync<DependencyUnavailableException>(
            () => AwsTestClients.EmailSender(new Uri($"http://127.0.0.1:{FreePort.Next()}/"), sender, maxRetries: 0).SendAsync(Message(), Cancel));

        Assert.IsAssignableFrom<OperationCanceledException>(timedOut.InnerException);
        Assert.IsType<HttpRequestException>(unreachable.InnerException);
    }

    [Theory]
    [InlineData("MessageRejected", "Email:FromAddress", "must be a verified SES identity in us-east-1")]
    [InlineData("MailFromDomainNotVerifiedException", "Email:FromAddress", "MAIL FROM domain")]
    [InlineData("AccountSuspendedException", "the SES account", "permanently stopped")]
    [InlineData("SendingPausedException", "the SES account", "aws sesv2 put-account-sending-attributes --sending-enabled --region us-east-1")]
    public async Task ARefusalOfTheDeploymentSaysWhatToFixWithoutTheRecipientSesRepeats(string code, string setting, string fix)
    {
        // SES names the identities that failed its checks, recipients included while the account is in the sandbox.
        var said = $"Email address is not verified. The following identities failed the check in region US-EAST-1: no-reply@example.com, {Recipient}";
        await using var server = await AwsStandInServer.StartAsync(_ => RestError(400, code, said), Cancel);

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(
            () => AwsTestClients.EmailSender(server.Endpoint, "no-reply@example.com").SendAsync(Message(), Cancel));

        var refusal = Assert.IsType<EmailSendingRefusedException>(unavailable.InnerException);
        Assert.Equal(code, refusal.ErrorCode);
        Assert.Equal(setting, refusal.Setting);
        Assert.Contains(fix, refusal.Message, StringComparison.Ordinal);
        Assert.Contains("failed the check in region US-EAST-1: no-reply@example.com, ***", refusal.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Recipient, unavailable.ToString(), StringComparison.Ordinal);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task AConfigurationSetSesDoesNotKnowNamesItsSetting()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => RestError(404, "NotFoundException", "Configuration set <mail-events> does not exist."), Cancel);

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(
            () => AwsTestClients.EmailSender(server.Endpoint, "no-reply@example.com", "mail-events").SendAsync(Message(), Cancel));

        var refusal = Assert.IsType<EmailSendingRefusedException>(unavailable.InnerException);
        Assert.Equal(EmailSettings.ConfigurationSetNameSetting, refusal.Setting);
        Assert.Contains("SES has no configuration set 'mail-events' in us-east-1", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMessageSesCallsInvalidIsAnErrorOfTheCallerNotAnOutageAndNamesNoRecipient()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => RestError(400, "BadRequestException", $"Illegal address {Recipient}"), Cancel);

        var error = await Assert.ThrowsAsync<AwsServiceException>(
            () => AwsTestClients.EmailSender(server.Endpoint, "no-reply@example.com").SendAsync(Message(), Cancel));

        Assert.Equal(AwsErrorKind.BadRequest, error.Kind);
        Assert.DoesNotContain(Recipient, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheRequestIsSesV2SendEmailSignedForSesWithOneRecipientBothBodiesInUtf8AndTheConfigurationSet()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => new StandInResponse(200, """{"MessageId":"0100018c-test"}"""), Cancel);
        var message = Message("Grüße: your sign-in link");

        var id = await AwsTestClients.EmailSender(server.Endpoint, "Müller API <no-reply@example.com>", "mail-events").SendAsync(message, Cancel);

        Assert.Equal("0100018c-test", id);
        var request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v2/email/outbound-emails", request.Path);
        Assert.StartsWith("application/json", request.Header("Content-Type"), StringComparison.Ordinal);
        Assert.Equal(["us-east-1", "ses"], request.CredentialScope.Skip(2).Take(2));
        using var body = JsonDocument.Parse(request.Body);
        var expected = JsonSerializer.Serialize(new
        {
            FromEmailAddress = "=?UTF-8?B?TcO8bGxlciBBUEk=?= <no-reply@example.com>",
            Destination = new { ToAddresses = new[] { Recipient } },
            Content = new
            {
                Simple = new
                {
                    Subject = new { Data = message.Subject, Charset = "UTF-8" },
                    Body = new { Text = new { Data = message.TextBody, Charset = "UTF-8" }, Html = new { Data = message.HtmlBody, Charset = "UTF-8" } },
                },
            },
            ConfigurationSetName = "mail-events",
        });
        Assert.Equal(JsonDocument.Parse(expected).RootElement.GetRawText(), JsonSerializer.Serialize(body.RootElement));
    }

    [Fact]
    public async Task TheSendersLogLinesNameTheCallButNeverTheRecipientOrTheBody()
    {
        var logs = new CapturedLogs();
        await using (var verified = Registered(await VerifiedSenderAsync(), logs))
        {
            await verified.GetRequiredService<IEmailSender>().SendAsync(Message(), Cancel);
        }

        await using (var unverified = Registered("nobody@unverified.example", logs))
        {
            await Assert.ThrowsAsync<DependencyUnavailableException>(() => unverified.GetRequiredService<IEmailSender>().SendAsync(Message(), Cancel));
        }

        Assert.Contains(logs.Lines, l => l.Contains("ses POST /v2/email/outbound-emails answered 200", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("ses POST /v2/email/outbound-emails answered 400", StringComparison.Ordinal));
        Assert.All(logs.Lines, line =>
        {
            Assert.DoesNotContain(Recipient, line, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Token, line, StringComparison.Ordinal);
            Assert.DoesNotContain("sign-in link", line, StringComparison.Ordinal);
        });
    }

    /// <summary>The sender as a host registers it (<see cref="AwsServiceCollectionExtensions.AddAwsSes"/>), logging into <paramref name="logs"/>.</summary>
    private ServiceProvider Registered(string from, CapturedLogs logs)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Email:FromAddress"] = from })
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        services.AddAwsSes(o =>
        {
            o.Region = OfflineEnvironment.Region;
            o.ServiceUrl = moto.Endpoint;
            o.Credentials = AwsTestClients.TestCredentials;
        });
        return services.BuildServiceProvider(validateScopes: true);
    }

    [Fact]
    public void AnOutgoingEmailNamesNoRecipientWhenPrinted()
    {
        var message = Message();

        Assert.DoesNotContain(Recipient, message.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Recipient, new SesDestination([Recipient]).ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(Token, new SesContent(message.TextBody).ToString(), StringComparison.Ordinal);
    }
}
