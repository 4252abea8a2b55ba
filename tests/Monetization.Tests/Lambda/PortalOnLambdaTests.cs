using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;
using Monetization.Tests.Accounts;

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

        // First keys are made by the key minting function, fed by the queue the Portal asks on.
        await using var minting = await ReporterProgram.StartKeyMintingAsync(lambda, Cancel);
        await using var queue = minting.Drain(lambda);
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        var readinessPath = SamTemplate.EnvironmentOf(Repository.TemplatePath, "PortalFunction", lambda.TemplateReferences())["AWS_LWA_READINESS_CHECK_PATH"];
        await OfflineLambda.WaitForOkAsync(http, process, readinessPath, TimeSpan.FromSeconds(60), Cancel);
        var email = $"lambda-{Guid.NewGuid():N}@example.com";
        using var browser = new AccountBrowser(new HttpClient(new HttpsCookieJar(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false })) { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) });

        using var requested = await browser.RequestLinkAsync(email);

        Assert.True(requested.StatusCode == HttpStatusCode.Accepted, $"{requested.StatusCode}: {await requested.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");

        // The template puts the Portal behind API Gateway (Monetization:ClientAddressSource LambdaRequestContext): its
        // answers are HTTPS ones, HSTS and the links it mails included, which API Gateway delivers to this port.
        Assert.Contains("max-age=", Assert.Single(requested.Headers.GetValues("Strict-Transport-Security")), StringComparison.Ordinal);
        var mail = await lambda.Environment.Mailbox.WaitForAsync(m => m.To.Contains(email), TimeSpan.FromSeconds(10), Cancel);
        var link = CapturedMail.LinkIn(mail.TextBody!);
        Assert.Equal(Uri.UriSchemeHttps, link.Scheme);
        using (var confirmed = await browser.ConfirmAsync(new Uri(link.PathAndQuery, UriKind.Relative)))
        {
            Assert.True(confirmed.StatusCode == HttpStatusCode.SeeOther, $"{confirmed.StatusCode}\n{process.Output}");
        }

        // The template's default collects payment by Checkout: the key is minted once the checkout is paid.
        using var pressed = await browser.PressAsync("/account/subscribe");
        Assert.True(pressed.StatusCode == HttpStatusCode.SeeOther, $"{pressed.StatusCode}: {await pressed.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");
        var session = Assert.Single(lambda.Environment.Stripe.CheckoutSessions, s => s.Url == pressed.Headers.Location?.ToString());
        var (paid, _, _) = await lambda.Environment.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Cancel);
        var success = new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal));
        Assert.Equal(Uri.UriSchemeHttps, success.Scheme);
        using var returned = await browser.Http.GetAsync(success.PathAndQuery, Cancel);
        Assert.True(returned.StatusCode == HttpStatusCode.SeeOther, $"{returned.StatusCode}: {await returned.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");

        var shown = await browser.KeyOnceMintedAsync() ?? throw new InvalidOperationException($"no key shown\n{process.Output}");
        Assert.Contains(shown.Id, await lambda.Environment.UsagePlanKeyIdsAsync(lambda.Environment.StripeUsagePlanId, Cancel));
        var key = Assert.Single(await lambda.Environment.ApiKeysAsync(Cancel), k => k.Id == shown.Id);
        Assert.True(key.Enabled);
        Assert.Equal(key.Value, shown.Value);
        Assert.DoesNotContain(lambda.Environment.Stripe.SecretKey, process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(link.Query, process.Output, StringComparison.Ordinal);
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

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Cancel)}\n{process.Output}");
        var lines = LoggedScopes.Of(await process.OutputWhenAsync(o => LoggedScopes.Of(o, "ses POST ").Count > 0, TimeSpan.FromSeconds(10), Cancel), "ses POST ");
        Assert.NotEmpty(lines);
        Assert.All(lines, scope =>
        {
            Assert.Equal(requestId, scope.GetValueOrDefault("ApiGatewayRequestId"));
            Assert.Equal(traceId, scope.GetValueOrDefault("XRayTraceId"));
        });
    }

    /// <summary>
    /// The browser's cookie jar as it is behind API Gateway, where every request is HTTPS: the Portal's Secure
    /// cookies go back to it although this test reaches the function's port over plain HTTP.
    /// </summary>
    private sealed class HttpsCookieJar(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (_cookies)
            {
                if (_cookies.Count > 0)
                {
                    request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
                }
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.TryGetValues("Set-Cookie", out var set))
            {
                lock (_cookies)
                {
                    foreach (var cookie in set)
                    {
                        var pair = cookie.Split(';')[0].Split('=', 2);
                        if (cookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
                        {
                            _cookies.Remove(pair[0]);
                        }
                        else
                        {
                            _cookies[pair[0]] = pair[1];
                        }
                    }
                }
            }

            return response;
        }
    }
}
