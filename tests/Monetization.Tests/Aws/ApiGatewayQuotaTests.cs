using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Core;
using Monetization.Emulators;
using Monetization.Emulators.AwsStandIn;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Aws;

/// <summary>
/// The stand-in's API Gateway control-plane quotas: the documented fixed quotas, each a token bucket, answered over a
/// quota with botocore's TooManyRequestsException shape.
/// </summary>
public sealed class ApiGatewayQuotaTests
{
    private const string Signed = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/apigateway/aws4_request, SignedHeaders=host, Signature=00";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CreateApiKeyTakesFiveASecondAndTheSixthIsAnsweredAsApiGatewayThrottles()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var quotas = new ApiGatewayControlPlaneQuotas(clock) { Enforced = true };

        var passed = 0;
        for (var i = 0; i < 5; i++)
        {
            passed += await quotas.RefuseAsync(Request("POST", "/apikeys")) ? 0 : 1;
        }

        var refused = Request("POST", "/apikeys");
        Assert.True(await quotas.RefuseAsync(refused));

        Assert.Equal(5, passed);
        Assert.Equal(429, refused.Response.StatusCode);
        Assert.Equal("TooManyRequestsException", refused.Response.Headers["x-amzn-ErrorType"].ToString());
        Assert.Equal("1", refused.Response.Headers.RetryAfter.ToString());
        Assert.Equal("""{"message":"Too Many Requests"}""", Body(refused));

        // A fifth of a second refills one token; other operations still have the total's burst left.
        clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.False(await quotas.RefuseAsync(Request("POST", "/apikeys")));
        Assert.True(await quotas.RefuseAsync(Request("POST", "/apikeys")));
        Assert.False(await quotas.RefuseAsync(Request("GET", "/apikeys")));
        Assert.Equal(6, quotas.Accepted[ApiGatewayControlPlaneQuotas.CreateApiKey]);
        Assert.Equal(2, quotas.Refused[ApiGatewayControlPlaneQuotas.CreateApiKey]);
    }

    [Fact]
    public async Task EveryOperationTogetherHasABurstOfFortyThenTenASecond()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var quotas = new ApiGatewayControlPlaneQuotas(clock) { Enforced = true };

        var burst = 0;
        while (!await quotas.RefuseAsync(Request("GET", "/usageplans/plan1/usage")))
        {
            burst++;
        }

        clock.Advance(TimeSpan.FromSeconds(1));
        var nextSecond = 0;
        while (!await quotas.RefuseAsync(Request(nextSecond % 2 == 0 ? "PATCH" : "GET", nextSecond % 2 == 0 ? "/apikeys/k1" : "/apikeys")))
        {
            nextSecond++;
        }

        Assert.Equal(40, burst);
        Assert.Equal(10, nextSecond);
    }

    [Fact]
    public async Task UpdateUsagePlanIsOneEveryTwentySecondsAndARefusalTakesNoTokenOfTheTotal()
    {
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var quotas = new ApiGatewayControlPlaneQuotas(clock) { Enforced = true };

        Assert.False(await quotas.RefuseAsync(Request("PATCH", "/usageplans/plan1")));
        var second = Request("PATCH", "/usageplans/plan1");
        Assert.True(await quotas.RefuseAsync(second));
        Assert.Equal("20", second.Response.Headers.RetryAfter.ToString());
        for (var i = 0; i < 39; i++)
        {
            Assert.False(await quotas.RefuseAsync(Request("GET", "/usageplans")));
        }

        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.False(await quotas.RefuseAsync(Request("PATCH", "/usageplans/plan1")));
    }

    [Theory]
    [InlineData("POST", "/apikeys", "", ApiGatewayControlPlaneQuotas.CreateApiKey)]
    [InlineData("POST", "/apikeys", "mode=import&format=csv", ApiGatewayControlPlaneQuotas.ImportApiKeys)]
    [InlineData("DELETE", "/apikeys/abc123", "", ApiGatewayControlPlaneQuotas.DeleteApiKey)]
    [InlineData("PATCH", "/usageplans/u1", "", ApiGatewayControlPlaneQuotas.UpdateUsagePlan)]
    [InlineData("GET", "/restapis/r1/resources", "", ApiGatewayControlPlaneQuotas.GetResources)]
    [InlineData("PATCH", "/apikeys/abc123", "", "PATCH apikeys")]
    [InlineData("POST", "/usageplans/u1/keys", "", "POST usageplans")]
    public void OperationsAreNamedAsBotocoresModelMapsTheirRequests(string method, string path, string query, string action) =>
        Assert.Equal(action, ApiGatewayControlPlaneQuotas.ActionOf(method, path, new DefaultHttpContext { Request = { QueryString = new QueryString(query.Length == 0 ? string.Empty : "?" + query) } }.Request.Query));

    [Fact]
    public async Task OnTheEnvironmentOurClientSeesTheRefusalAsThrottlingAndOtherServicesAreNotCounted()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);
        environment.Quotas.Enforced = true;
        var client = AwsTestClients.ApiGateway(environment.ApiGateway.Endpoint, OfflineEnvironment.LocalCredentials, maxRetries: 0);
        var keys = new ApiGatewayApiKeys(client);

        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await keys.CreateAsync(new Monetization.Core.ApiKeys.ApiKeySpec($"quota-{i}", "quota test", false, null, new Dictionary<string, string>()), Ct);
                return (AwsErrorKind?)null;
            }
            catch (DependencyUnavailableException e) when (e.InnerException is AwsServiceException refusal)
            {
                return refusal.Kind;
            }
        }));

        Assert.InRange(attempts.Count(a => a is null), 5, 6);
        Assert.All(attempts.Where(a => a is not null), a => Assert.Equal(AwsErrorKind.Throttled, a));
        Assert.Equal(attempts.Count(a => a is not null), environment.Quotas.Refused[ApiGatewayControlPlaneQuotas.CreateApiKey]);
        Assert.DoesNotContain(environment.Quotas.Log, l => !l.Action.StartsWith("CreateApiKey", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ACallOverAQuotaWaitsTheRetryAfterItIsGivenAndThenSucceedsInsteadOfFailing()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);
        environment.Quotas.Enforced = true;
        var options = AwsTestClients.Options(environment.ApiGateway.Endpoint, OfflineEnvironment.LocalCredentials, maxRetries: 3);
        options.RetryMaxDelay = TimeSpan.FromSeconds(5);
        var keys = new ApiGatewayApiKeys(new ApiGatewayClient(AwsTestClients.Http(AwsService.ApiGateway, options)));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // Eight creations at once against CreateApiKey's five a second: three are refused with Retry-After: 1.
        var created = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            keys.CreateAsync(new Monetization.Core.ApiKeys.ApiKeySpec($"waits-{i}", "quota test", false, null, new Dictionary<string, string>()), Ct)));

        Assert.Equal(8, created.Select(k => k.Id).Distinct().Count());
        Assert.InRange(environment.Quotas.Refused[ApiGatewayControlPlaneQuotas.CreateApiKey], 2, 3 * 3);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"the refused calls came back after {clock.Elapsed}, before the second they were told to wait");
    }

    private static DefaultHttpContext Request(string method, string path)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.Headers.Authorization = Signed;
        context.Response.Body = new MemoryStream();
        return context;
    }

    private static string Body(DefaultHttpContext context)
    {
        context.Response.Body.Position = 0;
        return Encoding.UTF8.GetString(((MemoryStream)context.Response.Body).ToArray());
    }
}
