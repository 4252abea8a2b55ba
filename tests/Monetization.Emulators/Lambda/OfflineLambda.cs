using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Monetization.Aws;
using Monetization.Aws.Http;

namespace Monetization.Emulators.Lambda;

/// <summary>
/// The project's functions started as Lambda starts them, wired to an <see cref="OfflineEnvironment"/>: Lambda's own
/// variables, the template's for the function, and where the emulated AWS, Stripe and Marketplace are.
/// </summary>
public static class OfflineLambda
{
    public const string SessionToken = "offline-session-token";

    /// <summary>What template.yaml's <c>!Ref</c>s in function environments stand for in <paramref name="environment"/>.</summary>
    public static IReadOnlyDictionary<string, string> TemplateReferences(OfflineEnvironment environment, string stripeSecretArn)
    {
        ArgumentNullException.ThrowIfNull(environment);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["LedgerTable"] = OfflineEnvironment.LedgerTableName,
            ["MarketplaceUsagePlan"] = environment.MarketplaceUsagePlanId,
            ["MarketplaceProductCode"] = OfflineEnvironment.MarketplaceProductCode,
            ["StripeUsagePlan"] = environment.StripeUsagePlanId,
            ["FreeUsagePlan"] = environment.FreeUsagePlanId,
            ["FreePlanMonthlyQuota"] = environment.FreeMonthlyQuota.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ServerlessHttpApi"] = "portal",
            ["KeyMintQueue"] = environment.KeyMintQueueUrl.ToString(),
            ["StripeSecretArn"] = stripeSecretArn,
            ["StripePriceId"] = environment.PriceId,
            ["StripeMeterEventName"] = OfflineEnvironment.MeterEventName,
            ["MonetizedApiId"] = environment.RestApiId,
            ["MonetizedApiStage"] = OfflineEnvironment.ApiStage,
            ["SupportContact"] = string.Empty,
            ["EmailSenderAddress"] = OfflineEnvironment.EmailSenderAddress,
            ["EmailSenderName"] = OfflineEnvironment.EmailSenderName,
            ["EmailConfigurationSet"] = OfflineEnvironment.EmailConfigurationSet,

            // The template's defaults.
            ["PaymentCollection"] = "checkout",
            ["InvoiceDaysUntilDue"] = "30",
            ["PastDueGraceHours"] = "72",
            ["EndedKeyRetentionDays"] = "30",
            ["MarketplaceDimension"] = "requests",
            ["ApiGatewayCallShare"] = "0.8",
            ["AWS::Region"] = OfflineEnvironment.Region,
            ["AWS::URLSuffix"] = "amazonaws.com",
            ["Condition:SellsOnMarketplace"] = "true",
            ["Condition:NamesEmailSender"] = "true",
            ["Condition:UsesEmailConfigurationSet"] = "true",
            ["Condition:OffersFreePlan"] = "true",
        };
    }

    /// <summary>
    /// A function's environment as Lambda builds it: the variables Lambda defines, then the template's for the
    /// function, then where the emulated AWS is (in AWS the public endpoints need no setting).
    /// </summary>
    public static Dictionary<string, string> FunctionEnvironment(OfflineEnvironment environment, FunctionArtifact artifact, string handler, LambdaRuntimeApi runtimeApi, string stripeSecretArn)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(runtimeApi);
        var variables = LambdaProcess.LambdaVariables(
            artifact.TaskRoot,
            handler,
            runtimeApi.HostAndPort,
            "monetization-" + artifact.LogicalId,
            OfflineEnvironment.Region,
            (OfflineEnvironment.LocalCredentials.AccessKey, OfflineEnvironment.LocalCredentials.SecretKey, SessionToken));
        foreach (var (name, value) in SamTemplate.EnvironmentOf(Repository.TemplatePath, artifact.LogicalId, TemplateReferences(environment, stripeSecretArn)))
        {
            variables[name] = value;
        }

        variables["AWS_ENDPOINT_URL"] = environment.Moto.Endpoint.ToString();
        variables["AWS_ENDPOINT_URL_API_GATEWAY"] = environment.ApiGateway.Endpoint.ToString();
        variables["AWS_ENDPOINT_URL_MARKETPLACE_METERING"] = environment.Marketplace.Endpoint.ToString();
        variables["AWS_ENDPOINT_URL_SESV2"] = environment.Ses.Endpoint.ToString();
        variables["AWS_ENDPOINT_URL_SQS"] = environment.Sqs.Endpoint.ToString();
        return variables;
    }

    /// <summary>The managed runtime's start for a handler without <c>::</c>: <c>dotnet exec &lt;task root&gt;/&lt;handler&gt;.dll</c>.</summary>
    public static LambdaProcess StartExecutableAssembly(FunctionArtifact artifact, string handler, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        return LambdaProcess.Start(artifact.TaskRoot, [LambdaProcess.Dotnet, "exec", Path.Combine(artifact.TaskRoot, handler + ".dll")], environment);
    }

    /// <summary>
    /// The Lambda Web Adapter's start: <c>exec "$LAMBDA_TASK_ROOT/$_HANDLER"</c>. The adapter forwards to
    /// <c>AWS_LWA_PORT</c>, which the template aligns with <c>ASPNETCORE_URLS</c>; both move to <paramref name="port"/>.
    /// </summary>
    /// <returns>The process and the address the adapter would forward to.</returns>
    public static (LambdaProcess Process, Uri Url) StartWebApp(FunctionArtifact artifact, Dictionary<string, string> environment, int port)
    {
        ArgumentNullException.ThrowIfNull(artifact);
        ArgumentNullException.ThrowIfNull(environment);
        var templatePort = environment["AWS_LWA_PORT"];
        if (environment["ASPNETCORE_URLS"] != $"http://127.0.0.1:{templatePort}")
        {
            throw new InvalidOperationException($"ASPNETCORE_URLS ({environment["ASPNETCORE_URLS"]}) does not listen on AWS_LWA_PORT ({templatePort}): the adapter would find nothing.");
        }

        var url = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        environment["AWS_LWA_PORT"] = port.ToString(CultureInfo.InvariantCulture);
        environment["ASPNETCORE_URLS"] = url.ToString().TrimEnd('/');
        return (LambdaProcess.Start(artifact.TaskRoot, ["/bin/sh", "-c", "exec \"$LAMBDA_TASK_ROOT/$_HANDLER\""], environment), url);
    }

    /// <summary>The Portal's setting that exists only offline: the emulated Stripe endpoint.</summary>
    public static void AddPortalEmulators(OfflineEnvironment environment, Dictionary<string, string> variables)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(variables);
        variables["Stripe__ApiBase"] = environment.Stripe.Endpoint.ToString();
    }

    /// <summary>Creates the Secrets Manager secret (in moto) holding the Stripe emulator's keys; returns its ARN.</summary>
    public static async Task<string> CreateStripeSecretAsync(OfflineEnvironment environment, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var options = new AwsClientOptions { Region = OfflineEnvironment.Region, ServiceUrl = environment.Moto.Endpoint, Credentials = OfflineEnvironment.LocalCredentials };
        using var http = AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.SecretsManager, options, _ => null), options);
        var secret = JsonSerializer.Serialize(new Dictionary<string, string> { ["SecretKey"] = environment.Stripe.SecretKey, ["WebhookSecret"] = environment.Stripe.WebhookSecret });
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = $"monetization/stripe-{Guid.NewGuid():N}", ["SecretString"] = secret });
        using var request = new HttpRequestMessage(HttpMethod.Post, environment.Moto.Endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.CreateSecret");
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
        return created.GetProperty("ARN").GetString()!;
    }

    /// <summary>Polls <paramref name="path"/> until it answers 200; the time of that answer is the web app's start-up.</summary>
    public static async Task WaitForOkAsync(HttpClient http, LambdaProcess process, string path, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(process);
        var until = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("The process exited before answering:\n" + process.Output);
            }

            if (DateTimeOffset.UtcNow > until)
            {
                throw new TimeoutException($"{path} did not answer 200 within {timeout}:\n{process.Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }
    }
}
