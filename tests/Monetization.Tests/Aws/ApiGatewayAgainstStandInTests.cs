using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Core.ApiKeys;
using Monetization.Core;
using Monetization.Emulators.AwsStandIn;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Moto;
using Monetization.Tests.Infrastructure;

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

/// <summary>
/// moto with a REST API, a usage plan covering its <c>prod</c> stage and 520 enabled keys in that plan: more than one
/// API Gateway page (500) holds. Created once for the class, eight requests at a time.
/// </summary>
public sealed class ManyKeysInMoto : IAsyncLifetime
{
    public const string Stage = "prod";
    public const int KeyCount = 520;

    private MotoServer? _server;

    public MotoServer Server => _server ?? throw new InvalidOperationException("moto_server is not started.");

    public string Name { get; } = $"many-{Guid.NewGuid():N}";

    public string ApiId { get; private set; } = string.Empty;

    public string PlanId { get; private set; } = string.Empty;

    /// <summary>The plan's keys, in id order, as API Gateway's paging orders them.</summary>
    public IReadOnlyList<(string Id, string Value)> Keys { get; private set; } = [];

    /// <summary>How long creating the keys and their plan memberships took.</summary>
    public TimeSpan Setup { get; private set; }

    public HttpClient Moto() => AwsTestClients.Http(AwsService.ApiGateway, AwsTestClients.Options(Server.Endpoint));

    /// <summary>A client for moto as API Gateway would answer it: paging outermost, so the rewritten query is what gets signed.</summary>
    public (ApiGatewayPaging Paging, HttpClient Http) PagedMoto()
    {
        var options = AwsTestClients.Options(Server.Endpoint);
        var paging = new ApiGatewayPaging(AwsHttp.CreateHandlers(
            AwsConnection.Resolve(AwsService.ApiGateway, options, _ => null), options, TimeProvider.System, new SocketsHttpHandler()));
        return (paging, new HttpClient(paging, disposeHandler: true) { BaseAddress = Server.Endpoint, Timeout = options.Timeout });
    }

    public async ValueTask InitializeAsync()
    {
        var cancel = TestContext.Current.CancellationToken;
        _server = await MotoServer.StartAsync(cancellationToken: cancel);
        var started = Stopwatch.GetTimestamp();
        using var http = Moto();
        var api = await SendAsync(http, HttpMethod.Post, "/restapis", $$"""{"name":"{{Name}}-api"}""", cancel);
        ApiId = api.GetProperty("id").GetString()!;
        var plan = await SendAsync(http, HttpMethod.Post, "/usageplans", $$"""{"name":"{{Name}}","apiStages":[{"apiId":"{{ApiId}}","stage":"{{Stage}}"}]}""", cancel);
        PlanId = plan.GetProperty("id").GetString()!;
        Keys = await CreateKeysAsync(http, Name, KeyCount, PlanId, cancel);
        Setup = Stopwatch.GetElapsedTime(started);
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    public static async Task<JsonElement> SendAsync(HttpClient http, HttpMethod method, string path, string? json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(http.BaseAddress!, path));
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} answered {(int)response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.Clone();
    }

    /// <summary>
    /// <paramref name="count"/> enabled keys named <paramref name="name"/>-NNNN, each in the plan when one is given,
    /// created eight at a time. The first is added to the plan alone: moto creates a plan's member table on its first
    /// member without a lock, and two first members at once could lose one.
    /// </summary>
    public static async Task<IReadOnlyList<(string Id, string Value)>> CreateKeysAsync(HttpClient http, string name, int count, string? planId, CancellationToken cancellationToken)
    {
        var keys = new ConcurrentBag<(string Id, string Value)>();
        async Task CreateAsync(int index, CancellationToken ct)
        {
            var key = await SendAsync(http, HttpMethod.Post, "/apikeys", $$"""{"name":"{{name}}-{{index:D4}}","enabled":true}""", ct);
            var id = key.GetProperty("id").GetString()!;
            if (planId is not null)
            {
                await SendAsync(http, HttpMethod.Post, $"/usageplans/{planId}/keys", $$"""{"keyId":"{{id}}","keyType":"API_KEY"}""", ct);
            }

            keys.Add((id, key.GetProperty("value").GetString()!));
        }

        await CreateAsync(0, cancellationToken);
        await Parallel.ForEachAsync(
            Enumerable.Range(1, count - 1),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (index, ct) => await CreateAsync(index, ct));
        return [.. keys.OrderBy(k => k.Id, StringComparer.Ordinal)];
    }
}

/// <summary>
/// The usage stand-in and the adapter with more keys than one API Gateway page holds. moto lists every key on one page
/// whatever <c>limit</c> and <c>position</c> say; API Gateway does not, so the tests also run over moto paged the way API
/// Gateway pages (<see cref="ApiGatewayPaging"/>), where a reader that stops after one page misses keys.
/// </summary>
public sealed class ApiGatewayUsageStandInPagingTests(ManyKeysInMoto world) : IClassFixture<ManyKeysInMoto>
{
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static Task<JsonElement> GetAsync(HttpClient http, string path) => ManyKeysInMoto.SendAsync(http, HttpMethod.Get, path, null, Cancel);

    [Fact]
    public async Task MotoPagedLikeApiGatewayAnswers25KeysByDefaultAndAPositionToTheRest()
    {
        using var setup = world.Moto();
        var name = $"paging-{Guid.NewGuid():N}";
        var created = await ManyKeysInMoto.CreateKeysAsync(setup, name, 30, planId: null, Cancel);
        var (_, paged) = world.PagedMoto();
        using var http = paged;

        var unpaged = await GetAsync(setup, $"/apikeys?name={name}&limit=1");
        var first = await GetAsync(http, $"/apikeys?name={name}");
        var position = first.GetProperty("position").GetString()!;
        var second = await GetAsync(http, $"/apikeys?name={name}&position={Uri.EscapeDataString(position)}");
        var whole = await GetAsync(http, $"/apikeys?name={name}&limit=500");
        using var tooMany = await http.GetAsync(new Uri($"/apikeys?name={name}&limit=501", UriKind.Relative), Cancel);

        // The kindness the handler takes away: moto ignores limit and answers everything.
        Assert.Equal(30, unpaged.GetProperty("item").GetArrayLength());
        Assert.False(unpaged.TryGetProperty("position", out _));
        Assert.Equal(25, first.GetProperty("item").GetArrayLength());
        Assert.Equal(5, second.GetProperty("item").GetArrayLength());
        Assert.False(second.TryGetProperty("position", out _));
        Assert.Equal(
            created.Select(k => k.Id),
            first.GetProperty("item").EnumerateArray().Concat(second.GetProperty("item").EnumerateArray()).Select(k => k.GetProperty("id").GetString()));
        Assert.Equal(30, whole.GetProperty("item").GetArrayLength());
        Assert.False(whole.TryGetProperty("position", out _));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.StartsWith("BadRequestException", tooMany.Headers.GetValues("x-amzn-ErrorType").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysBeyondTheFirstPageOf500AreServedByTheDemoApiAndCounted()
    {
        var output = TestContext.Current.TestOutputHelper;
        output?.WriteLine($"{ManyKeysInMoto.KeyCount} keys created and added to the plan in {world.Setup.TotalSeconds:0.0} s (class fixture)");
        var keys = world.Keys;
        var today = DateOnly.FromDateTime(Now.UtcDateTime);

        // moto as it is lists every key on one page; paged like API Gateway, keys[500..] are on a second page.
        var (paging, paged) = world.PagedMoto();
        foreach (var (label, client) in new[] { ("moto", world.Moto()), ("moto paged like API Gateway", paged) })
        {
            var started = Stopwatch.GetTimestamp();
            await using var standIn = await ApiGatewayUsageStandIn.StartAsync(client, world.ApiId, ManyKeysInMoto.Stage, new ManualTimeProvider(Now), Cancel);
            using var caller = new HttpClient { BaseAddress = standIn.DemoApiEndpoint };
            var statuses = new ConcurrentDictionary<string, HttpStatusCode>(StringComparer.Ordinal);
            await Parallel.ForEachAsync(
                keys,
                new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Cancel },
                async (key, ct) =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/{ManyKeysInMoto.Stage}/items", UriKind.Relative));
                    request.Headers.Add("x-api-key", key.Value);
                    using var response = await caller.SendAsync(request, ct);
                    statuses[key.Id] = response.StatusCode;
                });

            Assert.All(keys, key => Assert.True(statuses[key.Id] == HttpStatusCode.OK, $"{label}: key {key.Id} answered {statuses[key.Id]}"));
            Assert.All(keys, key => Assert.Equal(1, standIn.CountOf(world.PlanId, key.Id, today)));

            // What the usage reporter reads: GetUsage through the stand-in, which the adapter pages 500 keys at a time.
            await using var apiGateway = await FaultProxy.StartAnsweringAsync(world.Server.Endpoint, standIn.AnswerAsync, Cancel);
            var usage = await new ApiGatewayApiKeys(AwsTestClients.ApiGateway(apiGateway.Endpoint)).GetUsageAsync(world.PlanId, today, today, keyId: null, Cancel);
            Assert.Equal(keys.Select(k => k.Id), usage.Keys.Order(StringComparer.Ordinal));
            Assert.All(keys, key => Assert.Equal(1, Assert.Single(usage[key.Id]).Used));
            Assert.Equal(2, standIn.GetUsageRequests);
            output?.WriteLine($"{label}: {keys.Count} keys served, counted and read back in {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s");
        }

        Assert.Contains(paging.Pages, p => p.StartsWith("/apikeys?", StringComparison.Ordinal) && p.Contains("position=", StringComparison.Ordinal));
        Assert.Contains(paging.Pages, p => p.StartsWith($"/usageplans/{world.PlanId}/keys?", StringComparison.Ordinal) && p.Contains("position=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheAdaptersKeyListFollowsApiGatewaysPagesToTheLastKey()
    {
        var (paging, paged) = world.PagedMoto();
        using var http = paged;

        var listed = await new ApiGatewayClient(http).GetApiKeysAsync(new GetApiKeysRequest(Name: world.Name, IncludeValues: true), Cancel);

        Assert.Equal(world.Keys, listed.Select(k => (k.Id, k.Value!)).OrderBy(k => k.Id, StringComparer.Ordinal));
        Assert.Equal(2, paging.Pages.Count);
    }
}
