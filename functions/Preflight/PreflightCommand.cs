using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Email;
using Monetization.Aws.Http;
using Monetization.Aws.Secrets;
using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Stripe;

namespace Monetization.Preflight;

public static class PreflightCommand
{
    public const int Clean = 0;
    public const int ProblemsFound = 1;
    public const int UsageError = 2;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var command = args.Count > 0 ? args[0] : null;
        if (command is not ("check" or "link-product-code"))
        {
            await error.WriteLineAsync(command is null or "--help" or "-h" ? PreflightArguments.Usage : $"unknown command '{command}'\n{PreflightArguments.Usage}");
            return UsageError;
        }

        var (flags, problem) = PreflightArguments.Parse([.. args.Skip(1)], forLink: command == "link-product-code");
        if (flags is null)
        {
            await error.WriteLineAsync($"{problem}\n{PreflightArguments.Usage}");
            return UsageError;
        }

        var aws = new AwsClientOptions
        {
            Region = flags["region"],
            ServiceUrl = flags.TryGetValue("endpoint-url", out var endpoint) ? new Uri(endpoint) : null,
        };
        using var apiGatewayHttp = AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.ApiGateway, aws), aws);
        var apiGateway = new ApiGatewayClient(apiGatewayHttp);
        try
        {
            if (command == "link-product-code")
            {
                return await LinkAsync(flags, apiGateway, output, cancellationToken);
            }

            if (flags.TryGetValue("stack", out var stackName))
            {
                using var cloudFormationHttp = AwsHttp.CreateClient(AwsConnection.Resolve(CloudFormationStack.Service, aws), aws);
                var stack = await new CloudFormationStack(cloudFormationHttp).DescribeAsync(stackName, cancellationToken);
                var (complete, incomplete) = PreflightArguments.WithStack(flags, CloudFormationStack.ToFlags(stack));
                if (complete is null)
                {
                    await error.WriteLineAsync($"stack {stackName}: {incomplete}\n{PreflightArguments.Usage}");
                    return UsageError;
                }

                flags = complete;
            }

            return await CheckAsync(PreflightArguments.ToSettings(flags), apiGateway, aws, output, cancellationToken);
        }
        catch (AwsServiceException e)
        {
            await error.WriteLineAsync($"preflight stopped: {e.Message}");
            return ProblemsFound;
        }
        catch (HttpRequestException e)
        {
            await error.WriteLineAsync($"preflight stopped: AWS could not be reached ({e.Message})");
            return ProblemsFound;
        }
    }

    private static async Task<int> CheckAsync(StackSettings stack, ApiGatewayClient apiGateway, AwsClientOptions aws, TextWriter output, CancellationToken cancellationToken)
    {
        using var secretsHttp = AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.SecretsManager, aws), aws);
        using var sesHttp = AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.Ses, aws), aws);
        var stripeOptions = new StripeOptions { ApiBase = stack.StripeApiBase, AttemptTimeout = TimeSpan.FromSeconds(30) };
        using var stripeHttp = new HttpClient(new StripeTransport(Options.Create(stripeOptions), TimeProvider.System) { InnerHandler = new SocketsHttpHandler() });
        using var web = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var checks = new SetupChecks(
            apiGateway,
            new SecretsManagerClient(secretsHttp),
            key => StripeServiceCollectionExtensions.Create(new StripeOptions { ApiBase = stack.StripeApiBase, SecretKey = key }, stripeHttp),
            new SesClient(sesHttp),
            web);
        var (problems, keys) = await checks.RunAsync(stack, cancellationToken);
        if (keys is { } held)
        {
            await output.WriteLineAsync(FormattableString.Invariant(
                $"api keys: {held} of {ApiKeyAccess.AccountKeyLimit} in {stack.Region} ({Math.Max(0, ApiKeyAccess.AccountKeyLimit - held)} more subscribers can get one)"));
        }

        foreach (var problem in problems)
        {
            await output.WriteLineAsync($"PROBLEM [{problem.Check}] {problem.Description}");
            await output.WriteLineAsync($"  fix: {problem.Fix}");
        }

        await output.WriteLineAsync(problems.Count == 0 ? "preflight: no problems found" : $"preflight: {problems.Count} problem(s) found");
        return problems.Count == 0 ? Clean : ProblemsFound;
    }

    private static async Task<int> LinkAsync(IReadOnlyDictionary<string, string> flags, ApiGatewayClient apiGateway, TextWriter output, CancellationToken cancellationToken)
    {
        var plan = await LinkProductCode.RunAsync(apiGateway, flags["marketplace-plan"], flags["product-code"], cancellationToken);
        await output.WriteLineAsync($"usage plan {plan.Id} now carries product code {plan.ProductCode}");
        return Clean;
    }
}
