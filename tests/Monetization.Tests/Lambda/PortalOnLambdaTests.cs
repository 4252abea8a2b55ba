using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;

namespace Monetization.Tests.Lambda;

/// <summary>
/// The published Portal artifact started as the Lambda Web Adapter starts it (<c>exec "$LAMBDA_TASK_ROOT/$_HANDLER"</c>
/// from the task root, with the template's AWS_LWA_* and ASPNETCORE_URLS), as an unprivileged user with a read-only
/// task root, its Stripe keys read from Secrets Manager (moto).
/// </summary>
[Collection(LambdaCollection.Name)]
public sealed class PortalOnLambdaTests(LambdaFixture lambda)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private async Task<(LambdaProcess Process, Uri Url, LambdaRuntimeApi Api)> StartAsync()
    {
        var api = await LambdaRuntimeApi.StartAsync(Cancel);
        var environment = lambda.FunctionEnvironment(lambda.Portal, "Portal", api);
        OfflineLambda.AddPortalEmulators(lambda.Environment, environment);
        var (process, url) = OfflineLambda.StartWebApp(lambda.Portal, environment, FreePort.Next());
        return (process, url, api);
    }

    [Fact]
    public async Task ThePortalBecomesReadyOnTheAdaptersReadinessPathAndRegistersASubscriber()
    {
        var (process, url, api) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        var readinessPath = SamTemplate.EnvironmentOf(Repository.TemplatePath, "PortalFunction", lambda.TemplateReferences())["AWS_LWA_READINESS_CHECK_PATH"];
        await OfflineLambda.WaitForOkAsync(http, process, readinessPath, TimeSpan.FromSeconds(60), Cancel);
        var email = $"lambda-{Guid.NewGuid():N}@example.com";

        using var response = await http.PostAsJsonAsync("/register", new { email, firstname = "Ada", lastname = "Lovelace" }, Cancel);

        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var keyId = body.GetProperty("apiKeyId").GetString()!;

        // The template's default collects payment by Checkout: the key works once the checkout is paid.
        Assert.Equal("awaiting_payment", body.GetProperty("status").GetString());
        Assert.DoesNotContain(keyId, await lambda.Environment.UsagePlanKeyIdsAsync(lambda.Environment.StripeUsagePlanId, Cancel));
        // Other tests of this collection register too: this registration's session is the one its answer links to.
        var checkoutUrl = body.GetProperty("checkoutUrl").GetString();
        var session = Assert.Single(lambda.Environment.Stripe.CheckoutSessions, s => s.Url == checkoutUrl);
        var (paid, _, _) = await lambda.Environment.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Cancel);

        // The template puts the Portal behind API Gateway (Monetization:ClientAddressSource LambdaRequestContext): its
        // answers are HTTPS ones, HSTS and the return address included, which API Gateway delivers to this port.
        Assert.Contains("max-age=", Assert.Single(response.Headers.GetValues("Strict-Transport-Security")), StringComparison.Ordinal);
        var success = new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal));
        Assert.Equal(Uri.UriSchemeHttps, success.Scheme);
        using var returned = await http.GetAsync(success.PathAndQuery, Cancel);
        Assert.True(returned.StatusCode == HttpStatusCode.OK, $"{returned.StatusCode}: {await returned.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");
        Assert.Contains(keyId, await lambda.Environment.UsagePlanKeyIdsAsync(lambda.Environment.StripeUsagePlanId, Cancel));
        var key = Assert.Single(await lambda.Environment.ApiKeysAsync(Cancel), k => k.Id == keyId);
        Assert.True(key.Enabled);
        Assert.Equal(key.Value, body.GetProperty("apiKey").GetString());
        Assert.DoesNotContain(lambda.Environment.Stripe.SecretKey, process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EveryLineARequestLogsCarriesItsApiGatewayRequestAndTraceIds()
    {
        var (process, url, api) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        await OfflineLambda.WaitForOkAsync(http, process, "/healthz", TimeSpan.FromSeconds(60), Cancel);
        const string traceId = "Root=1-6759e990-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1";
        const string requestId = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/register")
        {
            Content = JsonContent.Create(new { email = $"scope-{Guid.NewGuid():N}@example.com", firstname = "Ada", lastname = "Lovelace" }),
        };
        request.Headers.Add("X-Amzn-Trace-Id", traceId);
        request.Headers.Add("x-amzn-request-context", $$"""{"accountId":"123456789012","apiId":"abc123","http":{"method":"POST","path":"/register"},"requestId":"{{requestId}}","stage":"$default"}""");

        using var response = await http.SendAsync(request, Cancel);

        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");
        var lines = LoggedScopes.Of(process.Output, "stripe POST ");
        Assert.NotEmpty(lines);
        Assert.All(lines, scope =>
        {
            Assert.Equal(requestId, scope.GetValueOrDefault("ApiGatewayRequestId"));
            Assert.Equal(traceId, scope.GetValueOrDefault("XRayTraceId"));
        });
    }
}
