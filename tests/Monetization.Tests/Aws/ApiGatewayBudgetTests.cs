using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Ledger;
using Monetization.Core.ApiKeys;
using Monetization.Emulators;
using Monetization.Emulators.AwsStandIn;
using Microsoft.Extensions.Time.Testing;

namespace Monetization.Tests.Aws;

/// <summary>
/// The account's API Gateway budget, kept in the ledger's table on moto: a burst, then one call an interval, shared
/// by every instance; and, wired as the hosts wire it, several instances calling at once stay inside the quotas the
/// stand-in enforces.
/// </summary>
/// <remarks>
/// Apart from the other tests: with retries off, a call whose turn came on time but whose request a starved CPU held
/// back reaches the stand-in bunched with later ones, which measures the machine, not the pacing.
/// </remarks>
[Collection(PacingCollection.Name)]
public sealed class ApiGatewayBudgetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABurstGoesAtOnceThenEachCallWaitsItsIntervalAndInstancesShareTheBudget()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

        // Half the quotas: 5 calls a second in all (an interval of 200 ms) with a burst of 20.
        var first = Budget(environment, new ApiGatewayBudgetOptions { Share = 0.5 }, clock);
        var second = Budget(environment, new ApiGatewayBudgetOptions { Share = 0.5 }, clock);
        for (var i = 0; i < 10; i++)
        {
            await first.WaitTurnAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
            await second.WaitTurnAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        }

        var overBurst = first.WaitTurnAsync(null, Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        Assert.False(overBurst.IsCompleted, "the 21st call of the burst went without waiting");

        clock.Advance(TimeSpan.FromMilliseconds(200));
        await overBurst.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var next = second.WaitTurnAsync(null, Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        Assert.False(next.IsCompleted, "the other instance's next call did not wait its interval");
        clock.Advance(TimeSpan.FromMilliseconds(200));
        await next.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task AnActionWithAQuotaOfItsOwnWaitsForItWhileOtherCallsGoOn()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var budget = Budget(environment, new ApiGatewayBudgetOptions(), clock);

        // CreateApiKey at 0.8 of its 5 a second: a burst of 2 (half of 0.8 of its 5), then one each 250 ms.
        for (var i = 0; i < 2; i++)
        {
            await budget.WaitTurnAsync(ApiGatewayBudget.CreateApiKey, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        }

        var third = budget.WaitTurnAsync(ApiGatewayBudget.CreateApiKey, Ct);
        await budget.WaitTurnAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.False(third.IsCompleted, "the third CreateApiKey went inside 250 ms of the burst");
        clock.Advance(TimeSpan.FromMilliseconds(250));
        await third.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal(4.0, budget.RateOf(ApiGatewayBudget.CreateApiKey), 6);
        Assert.Equal(8.0, budget.RateOf(null), 6);
    }

    [Fact]
    public async Task CallsThatGiveUpDoNotPushTheScheduleOnForThoseThatWait()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

        // A tenth of the quotas: one call a second, a burst of 4; nobody waits more than a second.
        var budget = Budget(environment, new ApiGatewayBudgetOptions { Share = 0.1, MaxWait = TimeSpan.FromSeconds(1) }, clock);
        for (var i = 0; i < 4; i++)
        {
            await budget.WaitTurnAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        }

        // The fifth call's turn is a second away: it waits. Only once its turn is taken (the bucket's TAT moved) do the
        // others come, each more than a second from its turn.
        var start = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var waiting = budget.WaitTurnAsync(null, Ct);
        await TatReachesAsync(environment, start + 5000);
        for (var i = 0; i < 10; i++)
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => budget.WaitTurnAsync(null, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct));
        }

        // Two seconds on, a call's turn is a second away again: the refusals reserved (almost) nothing.
        clock.Advance(TimeSpan.FromSeconds(2));
        await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var later = budget.WaitTurnAsync(null, Ct);
        await Task.Delay(TimeSpan.FromMilliseconds(200), Ct);
        clock.Advance(TimeSpan.FromSeconds(1));
        await later.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task ThreeInstancesWiredAsTheHostsCallAtOnceAndTheStandInRefusesNone()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);
        environment.Quotas.Enforced = true;
        var instances = Enumerable.Range(0, 3).Select(_ => Instance(environment)).ToList();
        var started = System.Diagnostics.Stopwatch.StartNew();

        // Each: 4 creations and 20 reads, all at once. Alone, 72 calls and 12 CreateApiKey would break both the total's
        // burst of 40 and CreateApiKey's 5 a second; without retries a throttled call would fail the test.
        await Task.WhenAll(instances.SelectMany((provider, n) =>
        {
            var keys = provider.GetRequiredService<IApiKeys>();
            return Enumerable.Range(0, 4)
                .Select(i => (Task)keys.CreateAsync(new ApiKeySpec($"budget-{n}-{i}", "budget test", false, null, new Dictionary<string, string>()), Ct))
                .Concat(Enumerable.Range(0, 20).Select(i => (Task)keys.GetAsync($"missing{n}x{i}", includeValue: false, Ct)));
        }));

        Assert.Empty(environment.Quotas.Refused);
        Assert.Equal(12, environment.Quotas.Accepted[ApiGatewayControlPlaneQuotas.CreateApiKey]);
        Assert.Equal(72, environment.Quotas.Accepted.Values.Sum());

        // At the default share, 32 go in the burst, the other 40 at 8 a second.
        Assert.True(started.Elapsed >= TimeSpan.FromSeconds(4), $"72 calls took {started.Elapsed}: they were not paced");
        foreach (var provider in instances)
        {
            await provider.DisposeAsync();
        }
    }

    [Fact]
    public async Task WhenTheLedgerDoesNotAnswerTheCallGoesUnpacedInsteadOfFailing()
    {
        // Nothing listens on port 9: the ledger refuses the connection, as a DynamoDB outage would answer.
        using var unreachable = new Amazon.DynamoDBv2.AmazonDynamoDBClient(
            new Amazon.Runtime.BasicAWSCredentials(OfflineEnvironment.LocalCredentials.AccessKey, OfflineEnvironment.LocalCredentials.SecretKey),
            new Amazon.DynamoDBv2.AmazonDynamoDBConfig { ServiceURL = "http://127.0.0.1:9", AuthenticationRegion = OfflineEnvironment.Region, MaxErrorRetry = 0 });
        var budget = new ApiGatewayBudget(unreachable, OfflineEnvironment.LedgerTableName, new ApiGatewayBudgetOptions(), NullLogger<ApiGatewayBudget>.Instance);

        for (var i = 0; i < 50; i++)
        {
            await budget.WaitTurnAsync(i % 2 == 0 ? ApiGatewayBudget.CreateApiKey : null, Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        }
    }

    /// <summary>Waits (in real time, at most 10 s) until the total's bucket has its TAT at <paramref name="tat"/> or later.</summary>
    private static async Task TatReachesAsync(OfflineEnvironment environment, long tat)
    {
        using var dynamoDb = environment.DynamoDb();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (true)
        {
            var item = await dynamoDb.GetItemAsync(
                new Amazon.DynamoDBv2.Model.GetItemRequest
                {
                    TableName = OfflineEnvironment.LedgerTableName,
                    Key = new() { ["pk"] = new() { S = "budget#apigateway" } },
                    ConsistentRead = true,
                },
                Ct);
            if (item.Item?.TryGetValue("tat", out var value) == true && long.Parse(value.N, System.Globalization.CultureInfo.InvariantCulture) >= tat)
            {
                return;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, "the call never took its turn");
            await Task.Delay(20, Ct);
        }
    }

    private static ApiGatewayBudget Budget(OfflineEnvironment environment, ApiGatewayBudgetOptions options, TimeProvider clock) =>
        new(environment.DynamoDb(), OfflineEnvironment.LedgerTableName, options, NullLogger<ApiGatewayBudget>.Instance, clock);

    /// <summary>One function instance's API Gateway port and ledger, registered as the hosts register them.</summary>
    private static ServiceProvider Instance(OfflineEnvironment environment)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(environment.UsageReporterConfiguration()).Build();
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddAwsSettings();
        services.AddAwsApiGateway(o => o.MaxRetries = 0);
        services.AddDynamoDbLedger(OfflineEnvironment.LedgerTableName);
        return services.BuildServiceProvider(validateScopes: true);
    }
}

/// <summary>Tests that measure pacing against wall-clock quotas, run when no other test competes for the CPU.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PacingCollection
{
    public const string Name = "Pacing against wall-clock quotas";
}
