using System.Net.Http.Json;
using System.Xml.Linq;
using Amazon.Runtime;
using Monetization.Aws;
using Monetization.Aws.Http;
using Monetization.Core.Mail;
using Monetization.Emulators.Moto;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Aws;

/// <summary>
/// moto_server that lets the setup calls through unauthenticated (an IAM user allowed <c>ses:SendEmail</c> only, and
/// the verified sender) and afterwards checks every SigV4 signature against the user's secret and every action
/// against the user's policy. moto evaluates actions on resource <c>*</c>; the template's resource-level grant is
/// proven by the IAM simulation (tests/iam) instead.
/// </summary>
public sealed class SesIamEnforcedMotoFixture : IAsyncLifetime
{
    /// <summary>CreateUser, CreateAccessKey, PutUserPolicy, CreateEmailIdentity.</summary>
    private const int SetupCalls = 4;

    public const string Sender = "no-reply@iam.example";

    private static readonly AwsService Iam = new("iam", "IAM", "iam");

    private readonly Moto _moto = new();

    public Uri Endpoint => _moto.Endpoint;

    public ImmutableCredentials Limited { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await _moto.InitializeAsync();
        var cancel = TestContext.Current.CancellationToken;
        using var iam = AwsTestClients.Http(Iam, AwsTestClients.Options(Endpoint, maxRetries: 0));
        const string user = "mailer";
        await CallAsync(iam, [("Action", "CreateUser"), ("UserName", user)], cancel);
        var created = await CallAsync(iam, [("Action", "CreateAccessKey"), ("UserName", user)], cancel);
        const string policy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ses:SendEmail","Resource":"*"}]}""";
        await CallAsync(iam, [("Action", "PutUserPolicy"), ("UserName", user), ("PolicyName", "send-only"), ("PolicyDocument", policy)], cancel);
        using var ses = AwsTestClients.Http(AwsService.Ses, AwsTestClients.Options(Endpoint, maxRetries: 0));
        await MotoSes.CreateEmailIdentityAsync(ses, Sender, cancel);
        Limited = new ImmutableCredentials(Value(created, "AccessKeyId"), Value(created, "SecretAccessKey"), null);
    }

    public async ValueTask DisposeAsync() => await _moto.DisposeAsync();

    private static async Task<XDocument> CallAsync(HttpClient iam, IEnumerable<(string Name, string Value)> parameters, CancellationToken cancellationToken)
    {
        using var form = new FormUrlEncodedContent([.. parameters.Select(p => KeyValuePair.Create(p.Name, p.Value)), KeyValuePair.Create("Version", "2010-05-08")]);
        using var response = await iam.PostAsync(iam.BaseAddress, form, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"IAM setup call failed: {(int)response.StatusCode} {body}");
        return XDocument.Parse(body);
    }

    private static string Value(XDocument document, string element) =>
        document.Descendants().First(e => e.Name.LocalName == element).Value;

    private sealed class Moto : MotoFixture
    {
        protected override MotoServerOptions Options => new() { InitialNoAuthActionCount = SetupCalls };
    }
}

public sealed class SesIamEnforcementTests(SesIamEnforcedMotoFixture moto) : IClassFixture<SesIamEnforcedMotoFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static OutgoingEmail Message() => new("ada@example.org", "Your sign-in link", "https://portal.example/signin?token=t1", "<a href=\"https://portal.example/signin?token=t1\">sign in</a>");

    [Fact]
    public async Task ASendSignedWithTheUsersSecretAndAllowedByThePolicyIsAccepted()
    {
        var id = await AwsTestClients.EmailSender(moto.Endpoint, SesIamEnforcedMotoFixture.Sender, credentials: moto.Limited, maxRetries: 0).SendAsync(Message(), Cancel);

        Assert.Contains(await MotoMailbox.ReadAsync(moto.Endpoint, Cancel), m => m.MessageId == id);
    }

    [Fact]
    public async Task TheSameSendSignedWithAWrongSecretIsRefusedAsAnInvalidSignature()
    {
        var wrong = new ImmutableCredentials(moto.Limited.AccessKey, moto.Limited.SecretKey + "x", null);

        var error = await Assert.ThrowsAsync<AwsServiceException>(
            () => AwsTestClients.EmailSender(moto.Endpoint, SesIamEnforcedMotoFixture.Sender, credentials: wrong, maxRetries: 0).SendAsync(Message(), Cancel));

        Assert.Equal(AwsErrorKind.InvalidSignature, error.Kind);
        Assert.Equal(403, (int)error.StatusCode);
        Assert.Equal("SignatureDoesNotMatch", error.ErrorCode);
    }

    [Fact]
    public async Task AnSesCallOutsideThePolicyIsRefusedAsAccessDeniedNamingTheAction()
    {
        using var ses = AwsTestClients.Http(AwsService.Ses, AwsTestClients.Options(moto.Endpoint, moto.Limited, maxRetries: 0));

        using var response = await ses.PostAsJsonAsync(new Uri(moto.Endpoint, "/v2/email/identities"), new { EmailIdentity = "other@iam.example" }, Cancel);
        var error = await AwsErrors.ToExceptionAsync(response, "ses", "CreateEmailIdentity", null, Cancel);

        Assert.Equal(AwsErrorKind.AccessDenied, error.Kind);
        Assert.Contains("ses:CreateEmailIdentity", error.Message, StringComparison.Ordinal);
    }
}
