using System.Xml.Linq;
using Amazon.Runtime;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Core.ApiKeys;
using Monetization.Emulators.Moto;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Aws;

/// <summary>
/// moto_server that lets exactly the setup calls through unauthenticated and afterwards checks every SigV4 signature
/// against the IAM user's secret and every action against the user's policy.
/// </summary>
public sealed class IamEnforcedMotoFixture : IAsyncLifetime
{
    /// <summary>CreateUser, CreateAccessKey, PutUserPolicy.</summary>
    private const int SetupCalls = 3;

    private static readonly AwsService Iam = new("iam", "IAM", "iam");

    private readonly Moto _moto = new();

    public Uri Endpoint => _moto.Endpoint;

    public ImmutableCredentials Limited { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await _moto.InitializeAsync();
        var cancel = TestContext.Current.CancellationToken;
        using var iam = AwsTestClients.Http(Iam, AwsTestClients.Options(Endpoint, maxRetries: 0));
        const string user = "key-manager";
        await CallAsync(iam, [("Action", "CreateUser"), ("UserName", user)], cancel);
        var created = await CallAsync(iam, [("Action", "CreateAccessKey"), ("UserName", user)], cancel);

        // moto names an API Gateway action after the operation (apigateway:CreateApiKey), where AWS IAM uses the
        // HTTP verb (apigateway:POST); the policy grants both spellings so it reads the same against either.
        const string policy = """
            {"Version":"2012-10-17","Statement":[{"Effect":"Allow",
              "Action":["apigateway:POST","apigateway:GET","apigateway:CreateApiKey","apigateway:GetApiKey"],
              "Resource":"*"}]}
            """;
        await CallAsync(iam, [("Action", "PutUserPolicy"), ("UserName", user), ("PolicyName", "create-and-read-keys"), ("PolicyDocument", policy)], cancel);
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

public sealed class MotoIamEnforcementTests(IamEnforcedMotoFixture moto) : IClassFixture<IamEnforcedMotoFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private ApiGatewayApiKeys KeysAs(ImmutableCredentials credentials) => new(AwsTestClients.ApiGateway(moto.Endpoint, credentials, maxRetries: 1));

    private static ApiKeySpec Spec() =>
        new($"iam-{Guid.NewGuid():N}", "iam test", true, null, new Dictionary<string, string>());

    [Fact]
    public async Task ACallSignedWithTheUsersSecretAndAllowedByThePolicySucceeds()
    {
        var keys = KeysAs(moto.Limited);

        var created = await keys.CreateAsync(Spec(), Cancel);
        var read = await keys.GetAsync(created.Id, includeValue: false, Cancel);

        Assert.Equal(created.Id, read!.Id);
    }

    [Fact]
    public async Task TheSameCallSignedWithAWrongSecretIsRefusedAsAnInvalidSignature()
    {
        var keys = KeysAs(new ImmutableCredentials(moto.Limited.AccessKey, moto.Limited.SecretKey + "x", null));

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => keys.CreateAsync(Spec(), Cancel));

        Assert.Equal(AwsErrorKind.InvalidSignature, error.Kind);
        Assert.Equal(403, (int)error.StatusCode);
        Assert.Equal("SignatureDoesNotMatch", error.ErrorCode);
    }

    [Fact]
    public async Task ACallOutsideThePolicyIsRefusedAsAccessDeniedAndChangesNothing()
    {
        var keys = KeysAs(moto.Limited);
        var created = await keys.CreateAsync(Spec(), Cancel);

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => keys.DeleteAsync(created.Id, Cancel));

        Assert.Equal(AwsErrorKind.AccessDenied, error.Kind);
        Assert.Equal(403, (int)error.StatusCode);
        Assert.Equal("AccessDenied", error.ErrorCode);
        Assert.Contains("apigateway:DeleteApiKey", error.Message, StringComparison.Ordinal);
        Assert.NotNull(await keys.GetAsync(created.Id, includeValue: false, Cancel));
    }
}
