using System.Text;
using System.Text.Json;
using Monetization.Aws;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;
using Monetization.Tests.Aws;

namespace Monetization.Tests.Lambda;

[CollectionDefinition(Name)]
public sealed class LambdaCollection : ICollectionFixture<LambdaFixture>
{
    public const string Name = "Published functions on a local Lambda runtime";
}

/// <summary>
/// The deployed artifacts (each function's Makefile target, published once per test run) and the peers they talk to:
/// moto_server (API Gateway through the fault proxy, DynamoDB, Secrets Manager), the Stripe and Marketplace
/// emulators. Each test starts its own function process the way Lambda does.
/// </summary>
public sealed class LambdaFixture : IAsyncLifetime
{
    public const string SessionToken = "offline-session-token";

    public OfflineEnvironment Environment { get; private set; } = null!;

    public FunctionArtifact SubscriptionEvents { get; private set; } = null!;

    public FunctionArtifact Portal { get; private set; } = null!;

    /// <summary>The Secrets Manager secret (in moto) holding the Stripe emulator's keys, as the Portal's template parameter names it.</summary>
    public string StripeSecretArn { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        var cancel = TestContext.Current.CancellationToken;
        var environment = OfflineEnvironment.StartAsync(cancel);

        // One after the other: both publishes build the shared projects into the same obj directories.
        SubscriptionEvents = await FunctionArtifact.PublishAsync("SubscriptionEventsFunction", cancel);
        Portal = await FunctionArtifact.PublishAsync("PortalFunction", cancel);
        Environment = await environment;
        StripeSecretArn = await CreateStripeSecretAsync(cancel);
    }

    /// <summary>What template.yaml's <c>!Ref</c>s in function environments stand for here.</summary>
    public IReadOnlyDictionary<string, string> TemplateReferences() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["LedgerTable"] = OfflineEnvironment.LedgerTableName,
        ["MarketplaceUsagePlan"] = Environment.MarketplaceUsagePlanId,
        ["MarketplaceProductCode"] = OfflineEnvironment.MarketplaceProductCode,
        ["StripeUsagePlan"] = Environment.StripeUsagePlanId,
        ["StripeSecretArn"] = StripeSecretArn,
        ["StripePriceId"] = Environment.PriceId,
        ["StripeMeterEventName"] = OfflineEnvironment.MeterEventName,
    };

    /// <summary>
    /// A function's environment as Lambda builds it: the variables Lambda defines, then the template's for the
    /// function, then where the emulated AWS is (in AWS the public endpoints need no setting).
    /// </summary>
    public Dictionary<string, string> FunctionEnvironment(FunctionArtifact artifact, string handler, LambdaRuntimeApi runtimeApi)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(runtimeApi);
        var variables = LambdaProcess.LambdaVariables(
            artifact.TaskRoot,
            handler,
            runtimeApi.HostAndPort,
            "monetization-" + artifact.LogicalId,
            OfflineEnvironment.Region,
            (OfflineEnvironment.LocalCredentials.AccessKey, OfflineEnvironment.LocalCredentials.SecretKey, SessionToken));
        foreach (var (name, value) in SamTemplate.EnvironmentOf(Repository.TemplatePath, artifact.LogicalId, TemplateReferences()))
        {
            variables[name] = value;
        }

        variables["AWS_ENDPOINT_URL"] = Environment.Moto.Endpoint.ToString();
        variables["AWS_ENDPOINT_URL_API_GATEWAY"] = Environment.ApiGateway.Endpoint.ToString();
        return variables;
    }

    public async ValueTask DisposeAsync()
    {
        if (Environment is not null)
        {
            await Environment.DisposeAsync();
        }

        SubscriptionEvents?.Dispose();
        Portal?.Dispose();
    }

    private async Task<string> CreateStripeSecretAsync(CancellationToken cancellationToken)
    {
        var options = AwsTestClients.Options(Environment.Moto.Endpoint, OfflineEnvironment.LocalCredentials);
        using var http = AwsTestClients.Http(AwsService.SecretsManager, options);
        var secret = JsonSerializer.Serialize(new Dictionary<string, string> { ["SecretKey"] = Environment.Stripe.SecretKey, ["WebhookSecret"] = Environment.Stripe.WebhookSecret });
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = $"monetization/stripe-{Guid.NewGuid():N}", ["SecretString"] = secret });
        using var request = new HttpRequestMessage(HttpMethod.Post, Environment.Moto.Endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.CreateSecret");
        using var response = await http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return document.RootElement.GetProperty("ARN").GetString()!;
    }
}
