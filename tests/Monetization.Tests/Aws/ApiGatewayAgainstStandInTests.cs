using System.Text.Json;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Core.ApiKeys;
using Monetization.Core;
using Monetization.Emulators.AwsStandIn;

namespace Monetization.Tests.Aws;

/// <summary>The API Gateway behaviour moto does not have: usage, paging, 409/404 "already so", throttling and 5xx retries.</summary>
public sealed class ApiGatewayAgainstStandInTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static StandInResponse Json(int status, string body, IReadOnlyDictionary<string, string>? headers = null) => new(status, body, Headers: headers);

    private static StandInResponse Error(int status, string type, string message) =>
        Json(status, $$"""{"message":"{{message}}"}""", new Dictionary<string, string> { ["x-amzn-ErrorType"] = $"{type}:http://internal.amazon.com/coral/com.amazonaws.backplane.controlplane/", ["x-amzn-RequestId"] = "req-1" });

    private static void AssertSignedFor(StandInRequest request, string service)
    {
        var scope = request.CredentialScope;
        Assert.Equal(5, scope.Count);
        Assert.Equal(AwsTestClients.TestCredentials.AccessKey, scope[0]);
        Assert.Equal("us-east-1", scope[2]);
        Assert.Equal(service, scope[3]);
        Assert.Equal("aws4_request", scope[4]);
        Assert.NotNull(request.Header("X-Amz-Date"));
        Assert.NotNull(request.Header("X-Amz-Content-SHA256"));
    }

    [Fact]
    public async Task UsageIsReadAcrossPagesAndLaidOutPerKeyPerDay()
    {
        await using var server = await AwsStandInServer.StartAsync(
            request => request.QueryValue("position") switch
            {
                null => Json(200, """{"usagePlanId":"plan 1","startDate":"2026-03-01","endDate":"2026-03-03","position":"page2","values":{"k1":[[5,95],[7,88]]}}"""),
                "page2" => Json(200, """{"usagePlanId":"plan 1","startDate":"2026-03-01","endDate":"2026-03-03","values":{"k2":[[0,100],[1,99],[2,97]]}}"""),
                var other => throw new InvalidOperationException($"unexpected position {other}"),
            },
            Cancel);
        var keys = new ApiGatewayApiKeys(AwsTestClients.ApiGateway(server.Endpoint));

        var usage = await keys.GetUsageAsync("plan 1", new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 3), keyId: null, Cancel);

        Assert.Equal([new DailyUsage(new(2026, 3, 1), 5, 95), new DailyUsage(new(2026, 3, 2), 7, 88)], usage["k1"]);
        Assert.Equal(
            [new DailyUsage(new(2026, 3, 1), 0, 100), new DailyUsage(new(2026, 3, 2), 1, 99), new DailyUsage(new(2026, 3, 3), 2, 97)],
            usage["k2"]);
        Assert.Collection(
            server.Requests,
            first =>
            {
                Assert.Equal("GET", first.Method);
                Assert.Equal("/usageplans/plan 1/usage", first.Path);
                Assert.Equal("2026-03-01", first.QueryValue("startDate"));
                Assert.Equal("2026-03-03", first.QueryValue("endDate"));
                Assert.Null(first.QueryValue("keyId"));
                AssertSignedFor(first, "apigateway");
            },
            second => Assert.Equal("page2", second.QueryValue("position")));
    }

    [Fact]
    public async Task UsageForOneKeyAsksForThatKey()
    {
        await using var server = await AwsStandInServer.StartAsync(
            _ => Json(200, """{"startDate":"2026-03-01","values":{"k9":[[3,7]]}}"""), Cancel);
        var keys = new ApiGatewayApiKeys(AwsTestClients.ApiGateway(server.Endpoint));

        var usage = await keys.GetUsageAsync("p", new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 1), "k9", Cancel);

        Assert.Equal("k9", Assert.Single(server.Requests).QueryValue("keyId"));
        Assert.Equal(new DailyUsage(new(2026, 3, 1), 3, 7), Assert.Single(usage["k9"]));
    }

    [Fact]
    public async Task ApiKeysAreReadAcrossPagesWithTheCustomerFilterSentAndReapplied()
    {
        await using var server = await AwsStandInServer.StartAsync(
            request => request.QueryValue("position") switch
            {
                null => Json(200, """{"position":"p2","item":[{"id":"a","name":"one","enabled":true,"customerId":"c-1","value":"v-a"}]}"""),
                _ => Json(200, """{"item":[{"id":"b","name":"two","enabled":false,"customerId":"c-2"},{"id":"c","name":"three","enabled":true,"customerId":"c-1"}]}"""),
            },
            Cancel);
        var keys = new ApiGatewayApiKeys(AwsTestClients.ApiGateway(server.Endpoint));

        var found = await keys.FindByCustomerIdAsync("c-1", includeValue: true, Cancel);

        Assert.Equal(["a", "c"], found.Select(k => k.Id));
        Assert.Equal("v-a", found[0].Value!.Reveal());
        Assert.All(server.Requests, r =>
        {
            Assert.Equal("c-1", r.QueryValue("customerId"));
            Assert.Equal("true", r.QueryValue("includeValues"));
            Assert.Equal("500", r.QueryValue("limit"));
        });
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task AddingAKeyThatIsAlreadyInThePlanReturnsFalse()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Error(409, "ConflictException", "Usage Plan Key already exists"), Cancel);
        var keys = new ApiGatewayApiKeys(AwsTestClients.ApiGateway(server.Endpoint));

        Assert.False(await keys.AddToUsagePlanAsync("plan-1", "key-1", Cancel));

        var request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/usageplans/plan-1/keys", request.Path);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("key-1", body.RootElement.GetProperty("keyId").GetString());
        Assert.Equal("API_KEY", body.RootElement.GetProperty("keyType").GetString());
    }

    [Fact]
    public async Task RemovingAKeyThatIsNotInThePlanReturnsFalse()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Error(404, "NotFoundException", "Invalid Usage Plan Key identifier specified"), Cancel);
        var keys = new ApiGatewayApiKeys(AwsTestClients.ApiGateway(server.Endpoint));

        Assert.False(await keys.RemoveFromUsagePlanAsync("plan-1", "key-1", Cancel));

        var request = Assert.Single(server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal("/usageplans/plan-1/keys/key-1", request.Path);
    }

    [Fact]
    public async Task AKeyLeavingThePlanBetweenTheReadAndTheDeleteReturnsFalse()
    {
        await using var server = await AwsStandInServer.StartAsync(
            request => request.Method == "GET"
                ? Json(200, """{"id":"key-1","type":"API_KEY","name":"n"}""")
                : Error(404, "NotFoundException", "Invalid Usage Plan Key identifier specified"),
            Cancel);
        var keys = new ApiGatewayApiKeys(AwsTestClients.ApiGateway(server.Endpoint));

        Assert.False(await keys.RemoveFromUsagePlanAsync("plan-1", "key-1", Cancel));

        Assert.Equal(["GET", "DELETE"], server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task ThrottlingIsRetriedWithAFreshSignatureUntilItSucceeds()
    {
        var attempts = 0;
        await using var server = await AwsStandInServer.StartAsync(
            _ => Interlocked.Increment(ref attempts) <= 2
                ? Error(429, "TooManyRequestsException", "Too Many Requests")
                : Json(201, """{"id":"k1","type":"API_KEY","name":"n"}"""),
            Cancel);
        var time = new SteppingTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var client = AwsTestClients.ApiGateway(server.Endpoint, time: time);

        var key = await client.CreateUsagePlanKeyAsync("plan-1", "k1", Cancel);

        Assert.Equal("k1", key.Id);
        Assert.Equal(3, server.Requests.Count);
        Assert.Equal(3, server.Requests.Select(r => r.Header("X-Amz-Date")).Distinct().Count());
        Assert.Equal(3, server.Requests.Select(r => r.Header("Authorization")).Distinct().Count());
        Assert.All(server.Requests, r => Assert.Equal(server.Requests[0].Body, r.Body));
    }

    [Fact]
    public async Task ServerErrorsAreRetriedAndThenSurfaceAsDependencyUnavailable()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Error(503, "ServiceUnavailableException", "try later"), Cancel);
        var client = AwsTestClients.ApiGateway(server.Endpoint, maxRetries: 2);

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => client.DeleteApiKeyAsync("k1", Cancel));

        Assert.Equal("apigateway", unavailable.Dependency);
        Assert.Equal("DeleteApiKey", unavailable.Operation);
        var error = Assert.IsType<AwsServiceException>(unavailable.InnerException);

        Assert.Equal(AwsErrorKind.ServiceUnavailable, error.Kind);
        Assert.Equal("ServiceUnavailableException", error.ErrorCode);
        Assert.Equal("req-1", error.RequestId);
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task ABadRequestIsNotRetried()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Error(400, "BadRequestException", "Invalid patch path"), Cancel);
        var client = AwsTestClients.ApiGateway(server.Endpoint, maxRetries: 3);

        var error = await Assert.ThrowsAsync<AwsServiceException>(
            () => client.UpdateApiKeyAsync("k1", [PatchOperation.Replace("/nope", "x")], Cancel));

        Assert.Equal(AwsErrorKind.BadRequest, error.Kind);
        Assert.Equal("BadRequestException", error.ErrorCode);
        Assert.Equal("Invalid patch path", error.ServiceMessage);
        var request = Assert.Single(server.Requests);
        Assert.Equal("PATCH", request.Method);
        Assert.Contains("\"patchOperations\":[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":\"x\"}]", request.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PathSegmentsAreEscaped()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Json(200, """{"id":"a/b?c","name":"n","enabled":true}"""), Cancel);
        var client = AwsTestClients.ApiGateway(server.Endpoint);

        await client.GetApiKeyAsync("a/b?c", includeValue: true, Cancel);

        var request = Assert.Single(server.Requests);
        Assert.Equal("/apikeys/a%2Fb%3Fc?includeValue=true", request.RawTarget);
        Assert.Equal("true", request.QueryValue("includeValue"));
    }
}
