using System.Text;
using System.Text.Json;
using Monetization.Aws;
using Monetization.Aws.Http;
using Monetization.Emulators.Faults;

namespace Monetization.Emulators.Recording;

/// <summary>
/// One host's AWS traffic, recorded: every <c>Aws:*ServiceUrl</c> setting is pointed at a proxy labelled with the
/// function's logical id in the template, so the calls the flows make can be attributed to the function whose role
/// must allow them. The proxies forward everything unchanged (faults injected behind them still apply).
/// </summary>
public sealed class RecordedHost : IAsyncDisposable
{
    public const string Portal = "PortalFunction";
    public const string SubscriptionEvents = "SubscriptionEventsFunction";
    public const string UsageReporter = "UsageReporterFunction";

    public const string KeyMinting = "KeyMintingFunction";

    private readonly List<FaultProxy> _proxies;

    private RecordedHost(IReadOnlyDictionary<string, string?> configuration, List<FaultProxy> proxies)
    {
        Configuration = configuration;
        _proxies = proxies;
    }

    /// <summary>The host's settings with its AWS endpoints routed through the recording proxies.</summary>
    public IReadOnlyDictionary<string, string?> Configuration { get; }

    /// <summary>
    /// Routes <paramref name="function"/>'s AWS endpoints in <paramref name="configuration"/> through recording proxies.
    /// The Portal also reads its Stripe keys from a Secrets Manager secret, as it does when deployed, so that call is
    /// observed too.
    /// </summary>
    public static Task<RecordedHost> StartAsync(
        string function, OfflineEnvironment environment, IReadOnlyDictionary<string, string?> configuration, CancellationToken cancellationToken = default) =>
        StartAsync(function, environment, configuration, new Dictionary<string, string>(), cancellationToken);

    /// <param name="moreLogicalIds">Concrete ids the caller created, with the template's logical id each stands for.</param>
    public static async Task<RecordedHost> StartAsync(
        string function,
        OfflineEnvironment environment,
        IReadOnlyDictionary<string, string?> configuration,
        IReadOnlyDictionary<string, string> moreLogicalIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(moreLogicalIds);
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(configuration);
        var settings = new Dictionary<string, string?>(configuration, StringComparer.Ordinal);
        var logicalIds = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [environment.StripeUsagePlanId] = "StripeUsagePlan",
            [environment.MarketplaceUsagePlanId] = "MarketplaceUsagePlan",
            [environment.FreeUsagePlanId] = "FreeUsagePlan",
            [OfflineEnvironment.LedgerTableName] = "LedgerTable",
            [environment.KeyMintQueueUrl.ToString()] = "KeyMintQueue",
            [OfflineEnvironment.EmailSenderAddress] = "EmailSenderAddress",
            [OfflineEnvironment.EmailConfigurationSet] = "EmailConfigurationSet",
        };
        foreach (var (id, logicalId) in moreLogicalIds)
        {
            logicalIds[id] = logicalId;
        }

        if (function == Portal && settings.GetValueOrDefault("Stripe:SecretKey") is { } secretKey)
        {
            var secretArn = await CreateStripeSecretAsync(environment, secretKey, settings.GetValueOrDefault("Stripe:WebhookSecret"), cancellationToken).ConfigureAwait(false);
            settings.Remove("Stripe:SecretKey");
            settings.Remove("Stripe:WebhookSecret");
            settings["Stripe:SecretArn"] = secretArn;
            logicalIds[secretArn] = "StripeSecretArn";
        }

        var proxies = new List<FaultProxy>();
        var byTarget = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var key in settings.Keys.Where(k => k.StartsWith("Aws:", StringComparison.Ordinal) && k.EndsWith("ServiceUrl", StringComparison.Ordinal)).ToList())
            {
                if (settings[key] is not { Length: > 0 } target)
                {
                    continue;
                }

                if (!byTarget.TryGetValue(target, out var proxied))
                {
                    var proxy = await FaultProxy.StartAsync(
                        new Uri(target),
                        async (request, ct) => AwsCallLog.Append(await AwsCallLog.DescribeAsync(function, request, logicalIds, ct).ConfigureAwait(false)),
                        cancellationToken).ConfigureAwait(false);
                    proxies.Add(proxy);
                    byTarget[target] = proxied = proxy.Endpoint.ToString();
                }

                settings[key] = proxied;
            }
        }
        catch
        {
            foreach (var proxy in proxies)
            {
                await proxy.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }

        return new RecordedHost(settings, proxies);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<string> CreateStripeSecretAsync(OfflineEnvironment environment, string secretKey, string? webhookSecret, CancellationToken cancellationToken)
    {
        var options = new AwsClientOptions { Region = OfflineEnvironment.Region, ServiceUrl = environment.Moto.Endpoint, Credentials = OfflineEnvironment.LocalCredentials };
        using var http = AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.SecretsManager, options, _ => null), options);
        var secret = JsonSerializer.Serialize(new Dictionary<string, string?> { ["SecretKey"] = secretKey, ["WebhookSecret"] = webhookSecret });
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = $"stripe-{Guid.NewGuid():N}", ["SecretString"] = secret });
        using var request = new HttpRequestMessage(HttpMethod.Post, environment.Moto.Endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.CreateSecret");
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        return document.RootElement.GetProperty("ARN").GetString()!;
    }
}
