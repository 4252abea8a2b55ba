using Monetization.Emulators;
using Monetization.Emulators.Lambda;

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
    public OfflineEnvironment Environment { get; private set; } = null!;

    public FunctionArtifact SubscriptionEvents { get; private set; } = null!;

    public FunctionArtifact Portal { get; private set; } = null!;

    public FunctionArtifact UsageReporter { get; private set; } = null!;

    /// <summary>The key minting function: the usage reporter's program, built by its own Makefile target.</summary>
    public FunctionArtifact KeyMinting { get; private set; } = null!;

    /// <summary>The Secrets Manager secret (in moto) holding the Stripe emulator's keys, as the Portal's template parameter names it.</summary>
    public string StripeSecretArn { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync()
    {
        var cancel = TestContext.Current.CancellationToken;
        var environment = OfflineEnvironment.StartAsync(cancel);

        // One after the other: both publishes build the shared projects into the same obj directories.
        SubscriptionEvents = await FunctionArtifact.PublishAsync("SubscriptionEventsFunction", cancel);
        Portal = await FunctionArtifact.PublishAsync("PortalFunction", cancel);
        UsageReporter = await FunctionArtifact.PublishAsync("UsageReporterFunction", cancel);
        KeyMinting = await FunctionArtifact.PublishAsync("KeyMintingFunction", cancel);
        Environment = await environment;
        StripeSecretArn = await OfflineLambda.CreateStripeSecretAsync(Environment, cancel);
    }

    public IReadOnlyDictionary<string, string> TemplateReferences() => OfflineLambda.TemplateReferences(Environment, StripeSecretArn);

    public Dictionary<string, string> FunctionEnvironment(FunctionArtifact artifact, string handler, LambdaRuntimeApi runtimeApi) =>
        OfflineLambda.FunctionEnvironment(Environment, artifact, handler, runtimeApi, StripeSecretArn);

    public async ValueTask DisposeAsync()
    {
        if (Environment is not null)
        {
            await Environment.DisposeAsync();
        }

        SubscriptionEvents?.Dispose();
        Portal?.Dispose();
        UsageReporter?.Dispose();
        KeyMinting?.Dispose();
    }
}
