using Monetization.Emulators.Lambda;
using Monetization.Emulators.Recording;

namespace Monetization.Tests.Lambda;

/// <summary>
/// A published artifact of the usage reporter's program (UsageReporterFunction, KeyMintingFunction) started as the
/// managed runtime starts <c>Handler: UsageReporter</c>, with the template's environment for that function, its AWS
/// calls recorded for the IAM check under the function's logical id.
/// </summary>
public sealed record ReporterProgram(RecordedHost Recorded, LambdaRuntimeApi Api, LambdaProcess Process, TimeSpan Timeout) : IAsyncDisposable
{
    /// <summary>The key minting function.</summary>
    public static Task<ReporterProgram> StartKeyMintingAsync(LambdaFixture lambda, CancellationToken cancellationToken) =>
        StartAsync(lambda, lambda.KeyMinting, RecordedHost.KeyMinting, TimeSpan.FromSeconds(60), cancellationToken);

    /// <summary>The hourly usage reporter.</summary>
    public static Task<ReporterProgram> StartUsageReporterAsync(LambdaFixture lambda, CancellationToken cancellationToken) =>
        StartAsync(lambda, lambda.UsageReporter, RecordedHost.UsageReporter, TimeSpan.FromSeconds(600), cancellationToken);

    private static async Task<ReporterProgram> StartAsync(LambdaFixture lambda, FunctionArtifact artifact, string function, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lambda);
        var environment = lambda.Environment;
        var recorded = await RecordedHost.StartAsync(
            function,
            environment,
            new Dictionary<string, string?>
            {
                ["Aws:ServiceUrl"] = environment.Moto.Endpoint.ToString(),
                ["Aws:ApiGatewayServiceUrl"] = environment.ApiGateway.Endpoint.ToString(),
                ["Aws:MarketplaceMeteringServiceUrl"] = environment.Marketplace.Endpoint.ToString(),
                ["Aws:SesServiceUrl"] = environment.Ses.Endpoint.ToString(),
            },
            new Dictionary<string, string> { [lambda.StripeSecretArn] = "StripeSecretArn" },
            cancellationToken);
        var api = await LambdaRuntimeApi.StartAsync(cancellationToken);
        var variables = lambda.FunctionEnvironment(artifact, "UsageReporter", api);
        foreach (var (key, value) in recorded.Configuration)
        {
            variables[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        variables["Stripe__ApiBase"] = environment.Stripe.Endpoint.ToString();
        variables["Stripe__MeterEventsBase"] = environment.Stripe.Endpoint.ToString();
        return new ReporterProgram(recorded, api, OfflineLambda.StartExecutableAssembly(artifact, "UsageReporter", variables), timeout);
    }

    /// <summary>The key minting queue (moto's SQS) feeding this function, as Lambda's SQS event source mapping does.</summary>
    public SqsEventSource Drain(LambdaFixture lambda)
    {
        ArgumentNullException.ThrowIfNull(lambda);
        return lambda.Environment.KeyMinting(async (payload, ct) =>
        {
            var result = await InvokeAsync(payload, ct);
            return result.Error is null ? result.Response! : throw new InvalidOperationException(result.Error.ErrorMessage + Process.Output);
        });
    }

    public async Task<LambdaInvocationResult> InvokeAsync(string payload, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(120));
        var invocation = Api.InvokeAsync(payload, Timeout, cancellationToken: deadline.Token);
        var exited = Process.WaitForExitAsync(deadline.Token);
        if (await Task.WhenAny(invocation, exited) == exited)
        {
            Assert.Fail($"The function exited ({await exited}) instead of answering:\n{Process.Output}");
        }

        return await invocation;
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        await Api.DisposeAsync();
        await Recorded.DisposeAsync();
    }
}
