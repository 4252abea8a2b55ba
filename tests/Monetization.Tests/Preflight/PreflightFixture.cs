using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Monetization.Aws;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Moto;
using Monetization.Portal.Hosting;
using Monetization.Preflight;
using Monetization.Stripe.Webhooks;
using Monetization.Tests.Aws;
using Stripe;

namespace Monetization.Tests.Preflight;

/// <summary>
/// moto_server, the Stripe emulator and a live Portal, plus a way to lay out one seller's whole setup the way the
/// stack and the README leave it. Each test builds its own setup, so tests can break one thing each. moto lacks SES's
/// GetAccount, so the checks reach AWS through <see cref="AwsEndpoint"/>, which answers it with the documented shape
/// (Aws/Fixtures/ses-get-account.json) and forwards everything else to moto.
/// </summary>
public sealed class PreflightFixture : IAsyncLifetime
{
    private WebApplication? _portal;
    private FaultProxy? _aws;

    public OfflineEnvironment Environment { get; private set; } = null!;

    public Uri PortalUrl { get; private set; } = null!;

    /// <summary>moto, with SES's GetAccount answered as <see cref="SesProductionAccess"/> and <see cref="SesSendingEnabled"/> say.</summary>
    public Uri AwsEndpoint => _aws?.Endpoint ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>Whether the SES account has left the SES sandbox; a clean setup has.</summary>
    public bool SesProductionAccess { get; set; } = true;

    public bool SesSendingEnabled { get; set; } = true;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        Environment = await OfflineEnvironment.StartAsync(Ct);
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        _portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(Environment.PortalConfiguration());

            // Every check GETs the subscription URL from this one client address; the suite runs more than a minute's permits.
            builder.Configuration.AddInMemoryCollection([new("Monetization:MarketplacePermitsPerMinute", "100000")]);
            builder.WebHost.UseUrls(url);
        });
        await _portal.StartAsync(Ct);
        PortalUrl = new Uri(url + "/");
        _aws = await FaultProxy.StartAnsweringAsync(Environment.Moto.Endpoint, AnswerSesAccountAsync, Ct);
    }

    private async Task<bool> AnswerSesAccountAsync(HttpContext context)
    {
        if (!HttpMethods.IsGet(context.Request.Method) || context.Request.Path != "/v2/email/account")
        {
            return false;
        }

        var account = JsonNode.Parse(await System.IO.File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Aws", "Fixtures", "ses-get-account.json"), context.RequestAborted))!;
        account["ProductionAccessEnabled"] = SesProductionAccess;
        account["SendingEnabled"] = SesSendingEnabled;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(account.ToJsonString(), context.RequestAborted);
        return true;
    }

    /// <summary>A complete, correct setup: everything the README's Deploy section asks for, done.</summary>
    public async Task<SellerSetup> CleanSetupAsync()
    {
        using var http = Environment.ApiGatewayHttp();
        var api = await PostAsync(http, "/restapis", new { name = "sold-api", apiKeySource = "HEADER" });
        var apiId = api.GetProperty("id").GetString()!;
        var root = (await GetAsync(http, $"/restapis/{apiId}/resources")).GetProperty("item")[0].GetProperty("id").GetString()!;
        var items = (await PostAsync(http, $"/restapis/{apiId}/resources/{root}", new { pathPart = "items" })).GetProperty("id").GetString()!;
        await AddMethodAsync(http, apiId, items, "GET", apiKeyRequired: true);
        await AddMethodAsync(http, apiId, items, "OPTIONS", apiKeyRequired: false);
        await PostAsync(http, $"/restapis/{apiId}/deployments", new { stageName = OfflineEnvironment.ApiStage });
        var stages = new[] { new { apiId, stage = OfflineEnvironment.ApiStage } };
        var stripePlan = (await PostAsync(http, "/usageplans", new { name = "seller-stripe", apiStages = stages })).GetProperty("id").GetString()!;
        var marketplacePlan = (await PostAsync(http, "/usageplans", new { name = "seller-marketplace", apiStages = stages })).GetProperty("id").GetString()!;
        var freePlan = (await PostAsync(http, "/usageplans", new { name = "seller-free", apiStages = stages, quota = new { limit = 1000, period = "MONTH" } })).GetProperty("id").GetString()!;
        var secretArn = await CreateSecretAsync(JsonSerializer.Serialize(new { SecretKey = Environment.Stripe.SecretKey, WebhookSecret = Environment.Stripe.WebhookSecret }));
        var sender = $"no-reply-{Guid.NewGuid():N}@seller.example";
        var configurationSet = $"mail-{Guid.NewGuid():N}";
        using (var ses = Environment.SesHttp())
        {
            await MotoSes.CreateEmailIdentityAsync(ses, sender, Ct);
            await MotoSes.CreateConfigurationSetAsync(ses, configurationSet, Ct);
        }

        var setup = new SellerSetup(apiId, items, stripePlan, freePlan, marketplacePlan, secretArn, Environment.PriceId, OfflineEnvironment.MeterEventName, PortalUrl, sender, configurationSet);
        await ReplaceWebhookEndpointAsync(PortalUrl, StripeWebhookVerifier.ApiVersion, StripeWebhookEvents.Required);
        var (exit, _, _) = await RunAsync(["link-product-code", "--region", OfflineEnvironment.Region, "--marketplace-plan", marketplacePlan, "--product-code", SellerSetup.ProductCode, "--endpoint-url", Environment.Moto.Endpoint.ToString()]);
        Assert.Equal(PreflightCommand.Clean, exit);
        return setup;
    }

    /// <summary>A stack with the template's parameter and output names holding this setup's values.</summary>
    public async Task<string> CreateStackAsync(SellerSetup setup)
    {
        var name = $"seller-{Guid.NewGuid():N}"[..20];
        var parameters = new Dictionary<string, string>
        {
            ["MonetizedApiId"] = setup.ApiId,
            ["MonetizedApiStage"] = OfflineEnvironment.ApiStage,
            ["StripeSecretArn"] = setup.SecretArn,
            ["StripePriceId"] = setup.PriceId,
            ["StripeMeterEventName"] = setup.MeterEventName,
            ["MarketplaceProductCode"] = SellerSetup.ProductCode,
            ["EmailSenderAddress"] = setup.EmailSender,
            ["EmailConfigurationSet"] = setup.EmailConfigurationSet,
        };
        var outputs = new Dictionary<string, string>
        {
            ["PortalUrl"] = setup.PortalUrl.ToString(),
            ["StripeUsagePlanId"] = setup.StripePlanId,
            ["FreeUsagePlanId"] = setup.FreePlanId,
            ["MarketplaceUsagePlanId"] = setup.MarketplacePlanId,
        };
        var template = JsonSerializer.Serialize(new
        {
            AWSTemplateFormatVersion = "2010-09-09",
            Parameters = parameters.ToDictionary(p => p.Key, _ => new { Type = "String" }),
            Resources = new { Topic = new { Type = "AWS::SNS::Topic" } },
            Outputs = outputs.ToDictionary(o => o.Key, o => new { Value = o.Value }),
        });
        var form = new Dictionary<string, string> { ["Action"] = "CreateStack", ["Version"] = "2010-05-15", ["StackName"] = name, ["TemplateBody"] = template };
        var i = 1;
        foreach (var (key, value) in parameters)
        {
            form[$"Parameters.member.{i}.ParameterKey"] = key;
            form[$"Parameters.member.{i++}.ParameterValue"] = value;
        }

        using var http = AwsTestClients.Http(CloudFormationStack.Service, AwsTestClients.Options(Environment.Moto.Endpoint, OfflineEnvironment.LocalCredentials));
        using var response = await http.PostAsync(Environment.Moto.Endpoint, new FormUrlEncodedContent(form), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        return name;
    }

    public Task<(int Exit, string Output, string Error)> CheckAsync(SellerSetup setup) => RunAsync(setup.Arguments(this));

    public static async Task<(int Exit, string Output, string Error)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await PreflightCommand.RunAsync(args, output, error, Ct);
        return (exit, output.ToString(), error.ToString());
    }

    public static async Task AddMethodAsync(HttpClient http, string apiId, string resourceId, string verb, bool apiKeyRequired)
    {
        await PutAsync(http, $"/restapis/{apiId}/resources/{resourceId}/methods/{verb}", new { authorizationType = "NONE", apiKeyRequired });
        await PutAsync(http, $"/restapis/{apiId}/resources/{resourceId}/methods/{verb}/integration", new { type = "MOCK" });
    }

    public async Task<string> CreateSecretAsync(string value)
    {
        using var http = AwsTestClients.Http(AwsService.SecretsManager, AwsTestClients.Options(Environment.Moto.Endpoint, OfflineEnvironment.LocalCredentials));
        var body = JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = $"stripe-{Guid.NewGuid():N}", ["SecretString"] = value });
        using var request = new HttpRequestMessage(HttpMethod.Post, Environment.Moto.Endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.CreateSecret");
        using var response = await http.SendAsync(request, Ct);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return document.RootElement.GetProperty("ARN").GetString()!;
    }

    /// <summary>
    /// Deletes every webhook endpoint at the Portal's <c>/stripe/webhook</c> and, with events given, creates one at
    /// <paramref name="apiVersion"/> (the account default when null), as an owner would in Stripe's dashboard.
    /// </summary>
    /// <returns>The new endpoint's id, or null when none was created.</returns>
    public async Task<string?> ReplaceWebhookEndpointAsync(Uri portalUrl, string? apiVersion, IReadOnlyList<string>? events, bool disabled = false)
    {
        using var http = new HttpClient();
        var stripe = Environment.StripeClient(http);
        var url = new Uri(portalUrl, "stripe/webhook").AbsoluteUri;
        foreach (var existing in (await stripe.V1.WebhookEndpoints.ListAsync(new WebhookEndpointListOptions { Limit = 100 }, cancellationToken: Ct)).Data.Where(e => e.Url == url))
        {
            await stripe.V1.WebhookEndpoints.DeleteAsync(existing.Id, cancellationToken: Ct);
        }

        if (events is null)
        {
            return null;
        }

        var endpoint = await stripe.V1.WebhookEndpoints.CreateAsync(
            new WebhookEndpointCreateOptions { Url = url, ApiVersion = apiVersion, EnabledEvents = [.. events] },
            new RequestOptions { IdempotencyKey = $"webhook-endpoint-{Guid.NewGuid():N}" },
            Ct);
        if (disabled)
        {
            await stripe.V1.WebhookEndpoints.UpdateAsync(endpoint.Id, new WebhookEndpointUpdateOptions { Disabled = true }, new RequestOptions { IdempotencyKey = $"disable-{endpoint.Id}" }, Ct);
        }

        return endpoint.Id;
    }

    /// <summary>A recurring price that is not metered, as an owner might pick by mistake.</summary>
    public async Task<string> CreateLicensedPriceAsync()
    {
        using var http = new HttpClient();
        var stripe = Environment.StripeClient(http);
        var product = await stripe.V1.Products.CreateAsync(new ProductCreateOptions { Name = "Flat plan" }, new RequestOptions { IdempotencyKey = $"product-{Guid.NewGuid():N}" }, Ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Environment.Stripe.Endpoint, "/v1/prices"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["product"] = product.Id,
                ["currency"] = "usd",
                ["unit_amount"] = "1000",
                ["recurring[interval]"] = "month",
            }),
        };
        request.Headers.Authorization = new("Bearer", Environment.Stripe.SecretKey);
        using var response = await http.SendAsync(request, Ct);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString()!;
    }

    /// <summary>A metered price on the environment's meter, priced in graduated tiers (no unit amount).</summary>
    public async Task<string> CreateTieredMeteredPriceAsync()
    {
        using var http = new HttpClient();
        var stripe = Environment.StripeClient(http);
        var product = await stripe.V1.Products.CreateAsync(new ProductCreateOptions { Name = "Tiered plan" }, new RequestOptions { IdempotencyKey = $"product-{Guid.NewGuid():N}" }, Ct);
        var price = await stripe.V1.Prices.CreateAsync(
            Monetization.Emulators.Stripe.StripeSetup.TieredMeteredPrice(product.Id, Environment.MeterId),
            new RequestOptions { IdempotencyKey = $"price-{Guid.NewGuid():N}" },
            Ct);
        return price.Id;
    }

    /// <summary>Runs a printed fix against moto with the AWS CLI, as the owner would paste it against AWS.</summary>
    public async Task ApplyAwsFixAsync(string fix)
    {
        Assert.StartsWith("aws ", fix, StringComparison.Ordinal);
        var command = fix.Replace("aws ", $"aws --endpoint-url {Environment.Moto.Endpoint} ", StringComparison.Ordinal);
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        await process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.True(process.ExitCode == 0, $"'{command}' failed: {await stderr}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_aws is not null)
        {
            await _aws.DisposeAsync();
        }

        if (_portal is not null)
        {
            await _portal.DisposeAsync();
        }

        if (Environment is not null)
        {
            await Environment.DisposeAsync();
        }
    }

    public static async Task<JsonElement> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(new Uri(http.BaseAddress!, path), body, Ct);
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    public static async Task<JsonElement> PatchAsync(HttpClient http, string path, string op, string patchPath, string value)
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri(http.BaseAddress!, path))
        {
            Content = JsonContent.Create(new { patchOperations = new[] { new { op, path = patchPath, value } } }),
        };
        using var response = await http.SendAsync(request, Ct);
        Assert.True(response.IsSuccessStatusCode, $"PATCH {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }

    private static async Task PutAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PutAsJsonAsync(new Uri(http.BaseAddress!, path), body, Ct);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(http.BaseAddress!, path), Ct);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
    }
}

public sealed record SellerSetup(
    string ApiId,
    string ResourceId,
    string StripePlanId,
    string FreePlanId,
    string MarketplacePlanId,
    string SecretArn,
    string PriceId,
    string MeterEventName,
    Uri PortalUrl,
    string EmailSender,
    string EmailConfigurationSet)
{
    public const string ProductCode = "prodseller42";

    public string[] Arguments(PreflightFixture world) =>
    [
        "check",
        "--region", OfflineEnvironment.Region,
        "--api-id", ApiId,
        "--stage", OfflineEnvironment.ApiStage,
        "--stripe-plan", StripePlanId,
        "--free-plan", FreePlanId,
        "--marketplace-plan", MarketplacePlanId,
        "--product-code", ProductCode,
        "--secret-arn", SecretArn,
        "--price", PriceId,
        "--meter-event-name", MeterEventName,
        "--portal-url", PortalUrl.ToString(),
        "--email-sender", EmailSender,
        "--email-configuration-set", EmailConfigurationSet,
        "--endpoint-url", world.AwsEndpoint.ToString(),
        "--stripe-api-base", world.Environment.Stripe.Endpoint.ToString(),
    ];
}
