using System.Globalization;
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

        // The adapter forwards to AWS_LWA_PORT; the template aligns ASPNETCORE_URLS with it. Here both move to a free port.
        var port = environment["AWS_LWA_PORT"];
        Assert.Equal($"http://127.0.0.1:{port}", environment["ASPNETCORE_URLS"]);
        var free = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        environment["AWS_LWA_PORT"] = free;
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{free}";

        // Not in AWS: the emulated Stripe and Marketplace Metering endpoints.
        environment["Stripe__ApiBase"] = lambda.Environment.Stripe.Endpoint.ToString();
        environment["AWS_ENDPOINT_URL_MARKETPLACE_METERING"] = lambda.Environment.Marketplace.Endpoint.ToString();
        var process = LambdaProcess.Start(lambda.Portal.TaskRoot, ["/bin/sh", "-c", "exec \"$LAMBDA_TASK_ROOT/$_HANDLER\""], environment);
        return (process, new Uri($"http://127.0.0.1:{free}"), api);
    }

    private static async Task WaitUntilReadyAsync(HttpClient http, LambdaProcess process, string readinessPath)
    {
        var until = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(process.HasExited, "The Portal exited:\n" + process.Output);
            Assert.True(DateTimeOffset.UtcNow < until, "The Portal never became ready:\n" + process.Output);
            try
            {
                using var response = await http.GetAsync(readinessPath, Cancel);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(20, Cancel);
        }
    }

    [Fact]
    public async Task ThePortalBecomesReadyOnTheAdaptersReadinessPathAndRegistersASubscriber()
    {
        var (process, url, api) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        var readinessPath = SamTemplate.EnvironmentOf(Repository.TemplatePath, "PortalFunction", lambda.TemplateReferences())["AWS_LWA_READINESS_CHECK_PATH"];
        await WaitUntilReadyAsync(http, process, readinessPath);
        var email = $"lambda-{Guid.NewGuid():N}@example.com";

        using var response = await http.PostAsJsonAsync("/register", new { email, firstname = "Ada", lastname = "Lovelace" }, Cancel);

        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        var keyId = body.GetProperty("apiKeyId").GetString()!;
        Assert.Contains(keyId, await lambda.Environment.UsagePlanKeyIdsAsync(lambda.Environment.StripeUsagePlanId, Cancel));
        var key = Assert.Single(await lambda.Environment.ApiKeysAsync(Cancel), k => k.Id == keyId);
        Assert.True(key.Enabled);
        Assert.Equal(key.Value, body.GetProperty("apiKey").GetString());
        Assert.DoesNotContain(lambda.Environment.Stripe.SecretKey, process.Output, StringComparison.Ordinal);
    }
}
