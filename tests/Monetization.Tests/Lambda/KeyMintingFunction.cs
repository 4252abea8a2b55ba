using Monetization.Emulators.Lambda;
using Monetization.Emulators.Recording;

namespace Monetization.Tests.Lambda;

/// <summary>
/// The published KeyMintingFunction artifact started as the managed runtime starts <c>Handler: UsageReporter</c>, with
/// the template's environment for it, its AWS calls recorded for the IAM check.
/// </summary>
public sealed record KeyMintingFunction(RecordedHost Recorded, LambdaRuntimeApi Api, LambdaProcess Process) : IAsyncDisposable
{
    public static async Task<KeyMintingFunction> StartAsync(LambdaFixture lambda, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(lambda);
        var environment = lambda.Environment;
        var recorded = await RecordedHost.StartAsync(
            RecordedHost.KeyMinting,
            environment,
            new Dictionary<string, string?>
            {
                ["Aws:ServiceUrl"] = environment.Moto.Endpoint.ToString(),
                ["Aws:ApiGatewayServiceUrl"] = environment.ApiGateway.Endpoint.ToString(),
            },
            new Dictionary<string, string> { [lambda.StripeSecretArn] = "StripeSecretArn" },
            cancellationToken);
        var api = await LambdaRuntimeApi.StartAsync(cancellationToken);
        var variables = lambda.FunctionEnvironment(lambda.KeyMinting, "UsageReporter", api);
        foreach (var (key, value) in recorded.Configuration)
        {
            variables[key.Replace(":", "__", StringComparison.Ordinal)] = value!;
        }

        variables["Stripe__ApiBase"] = environment.Stripe.Endpoint.ToString();
        variables["Stripe__MeterEventsBase"] = environment.Stripe.Endpoint.ToString();
        return new KeyMintingFunction(recorded, api, OfflineLambda.StartExecutableAssembly(lambda.KeyMinting, "UsageReporter", variables));
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
        var invocation = Api.InvokeAsync(payload, TimeSpan.FromSeconds(60), cancellationToken: deadline.Token);
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
