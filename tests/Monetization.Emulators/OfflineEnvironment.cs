using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Http;
using Monetization.Aws.Ledger;
using Monetization.Core;
using Monetization.Emulators.AwsStandIn;
using Monetization.Emulators.Lambda;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Mail;
using Monetization.Emulators.Marketplace;
using Monetization.Emulators.Moto;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Stripe;

namespace Monetization.Emulators;

/// <summary>
/// Everything the Portal needs, on this machine: moto_server (API Gateway, DynamoDB, SES) and the Stripe emulator, with
/// the ledger table, a REST API, the Stripe and Marketplace usage plans, a meter with its metered price, and a
/// verified SES sender with a configuration set created the way an API owner would. Used by the offline sandbox, the end-to-end tests and the benchmark.
/// </summary>
public sealed class OfflineEnvironment : IAsyncDisposable
{
    public const string Region = "us-east-1";
    public const string LedgerTableName = "monetization-ledger";
    public const string MeterEventName = "api_requests";
    public const string ApiStage = "prod";

    /// <summary>Credentials moto accepts; they only ever sign requests to the local emulator.</summary>
    public static readonly ImmutableCredentials LocalCredentials = new("AKIAOFFLINESANDBOX00", "offline-sandbox-secret", null);

    /// <summary>The product the sandbox sells on the emulated AWS Marketplace.</summary>
    public const string MarketplaceProductCode = "prod-sandbox1234";

    /// <summary>The SES identity mail is sent from, verified in moto when the environment starts.</summary>
    public const string EmailSenderAddress = "no-reply@monetization.example";

    public const string EmailSenderName = "Monetization sandbox";

    /// <summary>The <c>Email:FromAddress</c> setting: the sender with its display name.</summary>
    public const string EmailFromAddress = EmailSenderName + " <" + EmailSenderAddress + ">";

    /// <summary>The SES configuration set mail is sent with, created in moto when the environment starts.</summary>
    public const string EmailConfigurationSet = "monetization-mail";

    private OfflineEnvironment(MotoServer moto, FaultProxy apiGateway, FaultProxy ses, FaultProxy sqs, SesMailbox mailbox, StripeEmulator stripe, MarketplaceEmulator marketplace)
    {
        Moto = moto;
        ApiGateway = apiGateway;
        Ses = ses;
        Sqs = sqs;
        Mailbox = mailbox;
        Stripe = stripe;
        Marketplace = marketplace;
    }

    public MotoServer Moto { get; }

    /// <summary>The Portal reaches API Gateway through this proxy, so its calls can be slowed down or failed.</summary>
    public FaultProxy ApiGateway { get; }

    /// <summary>
    /// API Gateway's fixed control-plane quotas on <see cref="ApiGateway"/>: every call the code under test makes is
    /// counted; with <see cref="ApiGatewayControlPlaneQuotas.Enforced"/> a call over a quota is answered 429 as API
    /// Gateway answers it. (Inspection clients such as <see cref="ApiGatewayHttp"/> reach moto directly and count nothing.)
    /// </summary>
    public ApiGatewayControlPlaneQuotas Quotas { get; private init; } = null!;

    /// <summary>The Portal reaches SES (moto's) through this proxy, so its calls can be slowed down or failed.</summary>
    public FaultProxy Ses { get; }

    /// <summary>The Portal reaches SQS (moto's, the key minting queue) through this proxy, so its calls can be failed.</summary>
    public FaultProxy Sqs { get; }

    /// <summary>
    /// The e-mails SES accepted through <see cref="Ses"/> or <see cref="ApiGateway"/> (the AWS endpoint the sandbox
    /// prints), newest first, with both bodies and the time of acceptance.
    /// </summary>
    public SesMailbox Mailbox { get; }

    public StripeEmulator Stripe { get; }

    /// <summary>
    /// The Marketplace Metering API the Portal resolves tokens with. Set its <see cref="MarketplaceEmulator.LandingUrl"/>
    /// and <see cref="MarketplaceEmulator.EventSink"/> once the Portal and the SubscriptionEvents handler exist.
    /// </summary>
    public MarketplaceEmulator Marketplace { get; }

    public string RestApiId { get; private set; } = string.Empty;

    /// <summary>
    /// The sold API as subscribers call it, like an invoke URL with its stage: the demo API behind <see cref="Usage"/>'s
    /// key checks, which answers any path under the stage.
    /// </summary>
    public Uri ApiBaseUrl => new(Usage.DemoApiEndpoint, $"/{ApiStage}/");

    /// <summary>
    /// API Gateway's key checks and usage counts, which moto lacks: the demo API at
    /// <see cref="ApiGatewayUsageStandIn.DemoApiEndpoint"/>, and GetUsage answered on <see cref="ApiGateway"/>.
    /// </summary>
    public ApiGatewayUsageStandIn Usage { get; private set; } = null!;

    /// <summary>API Gateway's ImportApiKeys, which moto lacks, answered on <see cref="ApiGateway"/>.</summary>
    public ApiGatewayKeyImport KeyImport { get; private set; } = null!;

    /// <summary>The key minting queue (moto's SQS); a message not deleted comes back after <see cref="KeyMintVisibilityTimeout"/>.</summary>
    public Uri KeyMintQueueUrl { get; private set; } = null!;

    /// <summary>Short, so a failed mint is retried within a test; Lambda's is set in the template.</summary>
    public static readonly TimeSpan KeyMintVisibilityTimeout = TimeSpan.FromSeconds(2);

    public string StripeUsagePlanId { get; private set; } = string.Empty;

    public string MarketplaceUsagePlanId { get; private set; } = string.Empty;

    /// <summary>The free plan's usage plan, with its monthly quota (<see cref="FreePlanMonthlyQuota"/> unless the limits say otherwise).</summary>
    public string FreeUsagePlanId { get; private set; } = string.Empty;

    /// <summary>The free plan's allowance here: <see cref="FreePlanMonthlyQuota"/> unless the limits say otherwise.</summary>
    public long FreeMonthlyQuota { get; private set; } = FreePlanMonthlyQuota;

    /// <summary>The account page the usage reporter's quota e-mails link to (the sandbox sets its Portal's).</summary>
    public Uri AccountPageUrl { get; set; } = new("https://portal.example/account");

    /// <summary>The free plan's allowance, as the template's default gives it.</summary>
    public const int FreePlanMonthlyQuota = 1000;

    public string MeterId { get; private set; } = string.Empty;

    public string PriceId { get; private set; } = string.Empty;

    public static Task<OfflineEnvironment> StartAsync(CancellationToken cancellationToken = default) => StartAsync(null, cancellationToken);

    /// <param name="limits">A throttle and daily quota on both usage plans, as an API owner sets them; none when null.</param>
    public static async Task<OfflineEnvironment> StartAsync(UsagePlanLimits? limits, CancellationToken cancellationToken = default)
    {
        UseLocalCredentials();

        var motoTask = MotoServer.RentAsync(cancellationToken);
        var stripeTask = StripeEmulator.StartAsync(new StripeEmulatorOptions(), cancellationToken);
        var marketplaceTask = MarketplaceEmulator.StartAsync(new MarketplaceEmulatorOptions { ProductCode = MarketplaceProductCode, Region = Region }, cancellationToken);
        await Task.WhenAll(motoTask, stripeTask, marketplaceTask).ConfigureAwait(false);
        var moto = await motoTask;
        var usage = new StrongBox<ApiGatewayUsageStandIn?>();
        var mailbox = new SesMailbox();
        var quotas = new ApiGatewayControlPlaneQuotas();
        var keyImport = new StrongBox<ApiGatewayKeyImport?>();
        var proxy = await FaultProxy.StartAnsweringAsync(
            moto.Endpoint,
            async context => await quotas.RefuseAsync(context).ConfigureAwait(false)
                || (keyImport.Value is { } import && await import.AnswerAsync(context).ConfigureAwait(false))
                || (usage.Value is { } standIn && await standIn.AnswerAsync(context).ConfigureAwait(false)),
            cancellationToken).ConfigureAwait(false);
        proxy.Tap = mailbox.Tap;
        FaultProxy ses;
        FaultProxy sqs;
        try
        {
            ses = await FaultProxy.StartAsync(moto.Endpoint, cancellationToken).ConfigureAwait(false);
            sqs = await FaultProxy.StartAsync(moto.Endpoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await proxy.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        ses.Tap = mailbox.Tap;
        var environment = new OfflineEnvironment(moto, proxy, ses, sqs, mailbox, await stripeTask, await marketplaceTask) { Quotas = quotas };
        try
        {
            await Task.WhenAll(
                environment.CreateLedgerTableAsync(cancellationToken),
                environment.CreateUsagePlansAsync(limits, cancellationToken),
                environment.CreateMeteredPriceAsync(cancellationToken),
                environment.CreateEmailSenderAsync(cancellationToken),
                environment.CreateKeyMintQueueAsync(cancellationToken)).ConfigureAwait(false);
            environment.KeyImport = keyImport.Value = new ApiGatewayKeyImport(environment.ApiGatewayHttp());
            environment.Usage = usage.Value = await ApiGatewayUsageStandIn.StartAsync(
                environment.ApiGatewayHttp(), environment.RestApiId, ApiStage, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await environment.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return environment;
    }

    /// <summary>
    /// The Portal and the DynamoDB SDK read the default credential chain; in a process that talks to the emulators it
    /// must name the emulator credentials, never whatever real account the machine is logged in to.
    /// </summary>
    public static void UseLocalCredentials()
    {
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", LocalCredentials.AccessKey);
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", LocalCredentials.SecretKey);
        Environment.SetEnvironmentVariable("AWS_SESSION_TOKEN", null);
        Environment.SetEnvironmentVariable("AWS_REGION", Region);
    }

    /// <summary>The Portal's settings for this environment, as configuration keys.</summary>
    public IReadOnlyDictionary<string, string?> PortalConfiguration() => new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["Aws:Region"] = Region,
        ["Aws:ServiceUrl"] = Moto.Endpoint.ToString(),
        ["Aws:ApiGatewayServiceUrl"] = ApiGateway.Endpoint.ToString(),
        ["Aws:SesServiceUrl"] = Ses.Endpoint.ToString(),
        ["Aws:SqsServiceUrl"] = Sqs.Endpoint.ToString(),
        ["Email:FromAddress"] = EmailFromAddress,
        ["Email:ConfigurationSetName"] = EmailConfigurationSet,
        ["Monetization:LedgerTableName"] = LedgerTableName,
        ["Monetization:StripeUsagePlanId"] = StripeUsagePlanId,
        ["Monetization:FreeUsagePlanId"] = FreeUsagePlanId,
        ["Monetization:FreePlanMonthlyQuota"] = FreeMonthlyQuota.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Monetization:MarketplaceUsagePlanId"] = MarketplaceUsagePlanId,
        ["Monetization:MarketplaceProductCodes"] = MarketplaceProductCode,
        ["Monetization:ApiBaseUrl"] = ApiBaseUrl.ToString(),
        ["Aws:MarketplaceMeteringServiceUrl"] = Marketplace.Endpoint.ToString(),
        ["Stripe:ApiBase"] = Stripe.Endpoint.ToString(),
        ["Stripe:SecretKey"] = Stripe.SecretKey,
        ["Stripe:WebhookSecret"] = Stripe.WebhookSecret,
        ["Stripe:PriceId"] = PriceId,
        ["Stripe:MeterEventName"] = MeterEventName,
        ["KeyMinting:QueueUrl"] = KeyMintQueueUrl.ToString(),
    };

    /// <summary>
    /// The key minting queue's event source (Lambda's SQS mapping, on moto) feeding <paramref name="invoke"/>: the
    /// key minting function, the usage reporter's program.
    /// </summary>
    public SqsEventSource KeyMinting(Func<string, CancellationToken, Task<string>> invoke, int batchSize = 100) =>
        new(SqsHttp(), KeyMintQueueUrl, Region, invoke, batchSize);

    /// <summary>An SQS client signed for moto.</summary>
    public HttpClient SqsHttp() => AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.Sqs, AwsOptions(), _ => null), AwsOptions());

    /// <summary>
    /// The SubscriptionEvents function's settings for this environment: the Portal's plus the <c>Usage</c> settings it
    /// meters a buyer's final usage with, as the template gives both functions.
    /// </summary>
    public IReadOnlyDictionary<string, string?> SubscriptionEventsConfiguration() => new Dictionary<string, string?>(PortalConfiguration(), StringComparer.Ordinal)
    {
        ["Usage:MarketplaceUsagePlanId"] = MarketplaceUsagePlanId,
        ["Usage:MarketplaceProductCode"] = MarketplaceProductCode,
    };

    /// <summary>The usage reporter's settings for this environment, as configuration keys.</summary>
    public IReadOnlyDictionary<string, string?> UsageReporterConfiguration() => new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["Aws:Region"] = Region,
        ["Aws:ServiceUrl"] = Moto.Endpoint.ToString(),
        ["Aws:ApiGatewayServiceUrl"] = ApiGateway.Endpoint.ToString(),
        ["Aws:MarketplaceMeteringServiceUrl"] = Marketplace.Endpoint.ToString(),
        ["Monetization:LedgerTableName"] = LedgerTableName,
        ["Usage:StripeUsagePlanId"] = StripeUsagePlanId,
        ["Usage:FreeUsagePlanId"] = FreeUsagePlanId,
        ["Usage:FreePlanMonthlyQuota"] = FreeMonthlyQuota.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Usage:AccountPageUrl"] = AccountPageUrl.ToString(),
        ["Usage:MarketplaceUsagePlanId"] = MarketplaceUsagePlanId,
        ["Usage:MarketplaceProductCode"] = MarketplaceProductCode,
        ["Aws:SesServiceUrl"] = Ses.Endpoint.ToString(),
        ["Email:FromAddress"] = EmailFromAddress,
        ["Email:ConfigurationSetName"] = EmailConfigurationSet,
        ["Stripe:ApiBase"] = Stripe.Endpoint.ToString(),
        ["Stripe:MeterEventsBase"] = Stripe.Endpoint.ToString(),
        ["Stripe:SecretKey"] = Stripe.SecretKey,
        ["Stripe:MeterEventName"] = MeterEventName,
        ["Stripe:PriceId"] = PriceId,
    };

    /// <summary>An API Gateway client signed for moto, for inspecting keys and plans.</summary>
    public HttpClient ApiGatewayHttp() => AwsHttp.CreateClient(
        AwsConnection.Resolve(AwsService.ApiGateway, AwsOptions(), _ => null), AwsOptions());

    /// <summary>An SES v2 client signed for moto, for setting SES up and sending as an owner would.</summary>
    public HttpClient SesHttp() => AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.Ses, AwsOptions(), _ => null), AwsOptions());

    public AmazonDynamoDBClient DynamoDb() => new(
        new BasicAWSCredentials(LocalCredentials.AccessKey, LocalCredentials.SecretKey),
        new AmazonDynamoDBConfig { ServiceURL = Moto.Endpoint.ToString(), AuthenticationRegion = Region });

    /// <summary>Stripe.net on the emulator, for setting things up the way an API owner would (no retries, no transport).</summary>
    public StripeClient StripeClient(HttpClient http) => StripeServiceCollectionExtensions.Create(
        new StripeOptions { ApiBase = Stripe.Endpoint, MeterEventsBase = Stripe.Endpoint, SecretKey = new Secret(Stripe.SecretKey) },
        http);

    /// <summary>Ids of the API keys in a usage plan, read from moto.</summary>
    public async Task<IReadOnlyList<string>> UsagePlanKeyIdsAsync(string usagePlanId, CancellationToken cancellationToken = default)
    {
        using var http = ApiGatewayHttp();
        using var document = await GetJsonAsync(http, $"/usageplans/{usagePlanId}/keys", cancellationToken).ConfigureAwait(false);
        return [.. document.RootElement.GetProperty("item").EnumerateArray().Select(k => k.GetProperty("id").GetString()!)];
    }

    /// <summary>Every API key moto holds, with values, as (id, name, enabled, value).</summary>
    public async Task<IReadOnlyList<(string Id, string Name, bool Enabled, string Value)>> ApiKeysAsync(CancellationToken cancellationToken = default)
    {
        using var http = ApiGatewayHttp();
        using var document = await GetJsonAsync(http, "/apikeys?includeValues=true&limit=500", cancellationToken).ConfigureAwait(false);
        return [.. document.RootElement.GetProperty("item").EnumerateArray().Select(k => (
            k.GetProperty("id").GetString()!,
            k.GetProperty("name").GetString()!,
            k.GetProperty("enabled").GetBoolean(),
            k.GetProperty("value").GetString()!))];
    }

    public async ValueTask DisposeAsync()
    {
        if (Usage is not null)
        {
            await Usage.DisposeAsync().ConfigureAwait(false);
        }

        await Marketplace.DisposeAsync().ConfigureAwait(false);
        await Stripe.DisposeAsync().ConfigureAwait(false);
        await Ses.DisposeAsync().ConfigureAwait(false);
        await Sqs.DisposeAsync().ConfigureAwait(false);
        await ApiGateway.DisposeAsync().ConfigureAwait(false);
        await Moto.DisposeAsync().ConfigureAwait(false);
    }

    private AwsClientOptions AwsOptions() => new() { Region = Region, ServiceUrl = Moto.Endpoint, Credentials = LocalCredentials };

    private async Task CreateLedgerTableAsync(CancellationToken cancellationToken)
    {
        using var dynamoDb = DynamoDb();
        await LedgerTable.CreateAsync(dynamoDb, LedgerTableName, cancellationToken).ConfigureAwait(false);
    }

    private async Task CreateKeyMintQueueAsync(CancellationToken cancellationToken)
    {
        using var sqs = SqsHttp();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(sqs.BaseAddress!, "/"))
        {
            Content = new StringContent(
                $$$"""{"QueueName":"monetization-key-mints","Attributes":{"VisibilityTimeout":"{{{(int)KeyMintVisibilityTimeout.TotalSeconds}}}"}}""",
                Encoding.UTF8,
                "application/x-amz-json-1.0"),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "AmazonSQS.CreateQueue");
        using var response = await sqs.SendAsync(request, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
        KeyMintQueueUrl = new Uri(document.RootElement.GetProperty("QueueUrl").GetString()!);
    }

    private async Task CreateEmailSenderAsync(CancellationToken cancellationToken)
    {
        using var ses = SesHttp();
        await MotoSes.CreateEmailIdentityAsync(ses, EmailSenderAddress, cancellationToken).ConfigureAwait(false);
        await MotoSes.CreateConfigurationSetAsync(ses, EmailConfigurationSet, cancellationToken).ConfigureAwait(false);
    }

    private async Task CreateUsagePlansAsync(UsagePlanLimits? limits, CancellationToken cancellationToken)
    {
        using var http = ApiGatewayHttp();
        var api = await PostJsonAsync(http, "/restapis", """{"name":"monetized-api","description":"The API being sold"}""", cancellationToken).ConfigureAwait(false);
        RestApiId = api.GetProperty("id").GetString()!;
        var stage = $$"""[{"apiId":"{{RestApiId}}","stage":"{{ApiStage}}"}]""";
        var limited = limits is { } l
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $$""","throttle":{"rateLimit":{{l.RateLimit}},"burstLimit":{{l.BurstLimit}}},"quota":{"limit":{{l.DailyQuota}},"period":"DAY"}""")
            : string.Empty;
        var stripePlan = await PostJsonAsync(http, "/usageplans", $$"""{"name":"monetization-stripe","apiStages":{{stage}}{{limited}}}""", cancellationToken).ConfigureAwait(false);
        var marketplacePlan = await PostJsonAsync(http, "/usageplans", $$"""{"name":"monetization-marketplace","apiStages":{{stage}}{{limited}}}""", cancellationToken).ConfigureAwait(false);
        var freeLimits = string.Create(
            System.Globalization.CultureInfo.InvariantCulture,
            $$""","throttle":{"rateLimit":{{limits?.RateLimit ?? 2}},"burstLimit":{{limits?.BurstLimit ?? 5}}},"quota":{"limit":{{limits?.FreeMonthlyQuota ?? FreePlanMonthlyQuota}},"period":"MONTH"}""");
        var freePlan = await PostJsonAsync(http, "/usageplans", $$"""{"name":"monetization-free","apiStages":{{stage}}{{freeLimits}}}""", cancellationToken).ConfigureAwait(false);
        StripeUsagePlanId = stripePlan.GetProperty("id").GetString()!;
        MarketplaceUsagePlanId = marketplacePlan.GetProperty("id").GetString()!;
        FreeUsagePlanId = freePlan.GetProperty("id").GetString()!;
        FreeMonthlyQuota = limits?.FreeMonthlyQuota ?? FreePlanMonthlyQuota;
    }

    private async Task CreateMeteredPriceAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var stripe = StripeClient(http);
        (MeterId, PriceId) = await StripeSetup.CreateMeteredPriceAsync(stripe, "Monetized API", MeterEventName, 0.1m, "setup", cancellationToken).ConfigureAwait(false);
    }

    private static async Task<JsonElement> PostJsonAsync(HttpClient http, string path, string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(http.BaseAddress!, path), content, cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false)).Clone();
    }

    private static async Task<JsonDocument> GetJsonAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(new Uri(http.BaseAddress!, path), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>A usage plan's throttle (requests per second, burst) and quota (requests a day per key).</summary>
/// <param name="FreeMonthlyQuota">The free plan's allowance (its throttle is the others').</param>
public sealed record UsagePlanLimits(double RateLimit, int BurstLimit, long DailyQuota, long FreeMonthlyQuota = OfflineEnvironment.FreePlanMonthlyQuota);
