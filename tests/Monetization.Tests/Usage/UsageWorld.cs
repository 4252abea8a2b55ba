using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.Emulators.Marketplace;
using Monetization.Emulators.Stripe;
using Monetization.Tests.Infrastructure;
using Monetization.UsageReporter;
using Stripe;

namespace Monetization.Tests.Usage;

/// <summary>moto, the Stripe and Marketplace emulators and the API Gateway usage stand-in, shared by a test class.</summary>
public sealed class UsageEnvironmentFixture : IAsyncLifetime
{
    private OfflineEnvironment? _environment;

    public OfflineEnvironment Environment => _environment ?? throw new InvalidOperationException("The environment is not started.");

    public async ValueTask InitializeAsync() => _environment = await OfflineEnvironment.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_environment is not null)
        {
            await _environment.DisposeAsync();
        }
    }
}

/// <summary>
/// One test's world inside the shared environment: its own ledger table and usage plans (so the reporter sees only
/// this test's keys), its own clock, and reporters wired exactly as the function wires them.
/// </summary>
internal sealed class UsageWorld : IAsyncDisposable
{
    private readonly List<ServiceProvider> _providers = [];
    private readonly AmazonDynamoDBClient _dynamoDb;

    private UsageWorld(OfflineEnvironment environment, AmazonDynamoDBClient dynamoDb, string table, string stripePlan, string marketplacePlan, DateTimeOffset now)
    {
        Environment = environment;
        _dynamoDb = dynamoDb;
        TableName = table;
        StripePlanId = stripePlan;
        MarketplacePlanId = marketplacePlan;
        Clock = new ManualTimeProvider(now);
        Ledger = new DynamoDbSubscriberLedger(dynamoDb, table);
    }

    public OfflineEnvironment Environment { get; }

    public string TableName { get; }

    public string StripePlanId { get; }

    public string MarketplacePlanId { get; }

    public ManualTimeProvider Clock { get; }

    public DynamoDbSubscriberLedger Ledger { get; }

    public DateOnly Today => DateOnly.FromDateTime(Clock.GetUtcNow().UtcDateTime);

    public static async Task<UsageWorld> CreateAsync(OfflineEnvironment environment, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var dynamoDb = environment.DynamoDb();
        var table = $"usage-{Guid.NewGuid():N}";
        await LedgerTable.CreateAsync(dynamoDb, table, cancellationToken);
        using var http = environment.ApiGatewayHttp();
        var stage = $$"""[{"apiId":"{{environment.RestApiId}}","stage":"{{OfflineEnvironment.ApiStage}}"}]""";
        var stripePlan = await PostAsync(http, "/usageplans", $$"""{"name":"usage-stripe-{{Guid.NewGuid():N}}","apiStages":{{stage}}}""", cancellationToken);
        var marketplacePlan = await PostAsync(http, "/usageplans", $$"""{"name":"usage-mp-{{Guid.NewGuid():N}}","apiStages":{{stage}}}""", cancellationToken);
        return new UsageWorld(environment, dynamoDb, table, stripePlan.GetProperty("id").GetString()!, marketplacePlan.GetProperty("id").GetString()!, now);
    }

    /// <summary>A reporter as the function builds it; <paramref name="wrapLedger"/> lets a test break the ledger.</summary>
    public ReportUsage Reporter(Func<IUsageLedger, IUsageLedger>? wrapLedger = null, IReadOnlyDictionary<string, string?>? settings = null) =>
        Services(wrapLedger, settings).GetRequiredService<ReportUsage>();

    /// <summary>The Stripe half alone, as the reporter wires it.</summary>
    public ReportStripeUsage StripeReporting(IReadOnlyDictionary<string, string?>? settings = null) => Services(null, settings).GetRequiredService<ReportStripeUsage>();

    /// <summary>The Marketplace half alone, as the reporter wires it (and SubscriptionEvents, which flushes a buyer whose subscription ends).</summary>
    public MeterMarketplaceUsage MarketplaceMetering(IReadOnlyDictionary<string, string?>? settings = null) => Services(null, settings).GetRequiredService<MeterMarketplaceUsage>();

    /// <summary>Anything else the reporter's container holds (its API Gateway adapter, key access), wired against this world.</summary>
    public T Resolve<T>()
        where T : notnull => Services(null, null).GetRequiredService<T>();

    private ServiceProvider Services(Func<IUsageLedger, IUsageLedger>? wrapLedger, IReadOnlyDictionary<string, string?>? settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(Environment.UsageReporterConfiguration())
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Monetization:LedgerTableName"] = TableName,
                ["Usage:StripeUsagePlanId"] = StripePlanId,
                ["Usage:MarketplaceUsagePlanId"] = MarketplacePlanId,
            })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Clock);
        services.AddLogging();
        if (wrapLedger is not null)
        {
            services.AddSingleton(sp => wrapLedger(new DynamoDbUsageLedger(sp.GetRequiredService<IAmazonDynamoDB>(), TableName)));
        }

        services.AddUsageReporter(configuration);
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        UsageReporterServices.ValidateNow(provider);
        _providers.Add(provider);
        return provider;
    }

    /// <summary>A Stripe customer in the emulator and an active subscriber holding <paramref name="apiKeyId"/>.</summary>
    public async Task<string> StripeSubscriberAsync(string apiKeyId, CancellationToken cancellationToken)
    {
        var customerId = await StripeCustomerAsync(cancellationToken);
        Assert.True(await Ledger.TryCreateAsync(StripeSubscriber(apiKeyId, customerId), cancellationToken));
        return customerId;
    }

    /// <summary>A Stripe customer in the emulator.</summary>
    public async Task<string> StripeCustomerAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient();
        var customer = await Environment.StripeClient(http).V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "Usage test" }, new RequestOptions { IdempotencyKey = $"usage-customer-{Guid.NewGuid():N}" }, cancellationToken);
        return customer.Id;
    }

    /// <summary>The ledger record of an active Stripe subscriber of this world's plan holding <paramref name="apiKeyId"/>.</summary>
    public Subscriber StripeSubscriber(string apiKeyId, string customerId)
    {
        var now = Clock.GetUtcNow();
        return new Subscriber
        {
            Id = $"stripe#{Guid.NewGuid():N}@example.test",
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Active,
            ApiKeyId = apiKeyId,
            UsagePlanId = StripePlanId,
            StripeCustomerId = customerId,
            StripeSubscriptionId = "sub_" + Guid.NewGuid().ToString("N")[..14],
            Registered = true,
            Subscribed = true,
            CreatedAt = now,
            UpdatedAt = now,
        };
    }

    /// <summary>A Marketplace buyer holding <paramref name="apiKeyId"/>, subscribed at Marketplace unless told otherwise.</summary>
    public async Task<Subscriber> MarketplaceBuyerAsync(string apiKeyId, bool legacy, bool subscribedAtMarketplace, CancellationToken cancellationToken)
    {
        var account = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var license = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
        if (subscribedAtMarketplace)
        {
            await Environment.Marketplace.DeliverEventBridgeAsync(new AgreementEvent("License Updated - Manufacturer", account, license, OfflineEnvironment.MarketplaceProductCode), cancellationToken);
        }

        var now = Clock.GetUtcNow();
        var buyer = new Subscriber
        {
            Id = $"mp#{account}#{Guid.NewGuid():N}",
            Channel = Channel.Marketplace,
            Status = SubscriberStatus.Active,
            ApiKeyId = apiKeyId,
            UsagePlanId = MarketplacePlanId,
            MarketplaceCustomerIdentifier = legacy ? "cust-" + Guid.NewGuid().ToString("N")[..12] : null,
            CustomerAwsAccountId = account,
            ProductCode = OfflineEnvironment.MarketplaceProductCode,
            LicenseArn = license,
            Registered = true,
            Subscribed = true,
            CreatedAt = now,
            UpdatedAt = now,
        };
        Assert.True(await Ledger.TryCreateAsync(buyer, cancellationToken));
        return buyer;
    }

    /// <summary>The subscriber the ledger's API key pointer leads to.</summary>
    public async Task<Subscriber> SubscriberHoldingAsync(string apiKeyId) =>
        (await new DynamoDbUsageLedger(_dynamoDb, TableName).FindSubscribersByApiKeyAsync([apiKeyId], CancellationToken.None))[apiKeyId];

    /// <summary>Records that the subscription of whoever holds <paramref name="apiKeyId"/> ended, as the flows would.</summary>
    public async Task EndSubscriptionAsync(string apiKeyId)
    {
        var subscriber = await SubscriberHoldingAsync(apiKeyId);
        Assert.True(await Ledger.TryReplaceAsync(subscriber with { Status = SubscriberStatus.Cancelled, Subscribed = false }, subscriber.Version, CancellationToken.None));
    }

    /// <summary>Records that access of whoever holds <paramref name="apiKeyId"/> ended now, as the flows would: the key settles.</summary>
    public async Task RevokeAsync(string apiKeyId, SubscriberStatus status)
    {
        var subscriber = await SubscriberHoldingAsync(apiKeyId);
        Assert.True(await Ledger.TryReplaceAsync(
            subscriber with { Status = status, Subscribed = false, SettlingSince = Clock.GetUtcNow() }, subscriber.Version, CancellationToken.None));
    }

    public void CountStripe(string apiKeyId, DateOnly day, long requests) => Environment.Usage.Count(StripePlanId, apiKeyId, day, requests);

    public void CountMarketplace(string apiKeyId, DateOnly day, long requests) => Environment.Usage.Count(MarketplacePlanId, apiKeyId, day, requests);

    public IReadOnlyList<EmulatedMeterEvent> EventsOf(string customerId) =>
        [.. Environment.Stripe.MeterEvents.Where(e => e.CustomerId == customerId)];

    public IReadOnlyList<MeteredUsage> MeteredFor(Subscriber buyer) =>
        [.. Environment.Marketplace.Metered.Where(m => m.CustomerAwsAccountId == buyer.CustomerAwsAccountId && m.LicenseArn == buyer.LicenseArn)];

    public static string NewKeyId() => "k" + Guid.NewGuid().ToString("N")[..9];

    public async ValueTask DisposeAsync()
    {
        foreach (var provider in _providers)
        {
            await provider.DisposeAsync();
        }

        _dynamoDb.Dispose();
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(http.BaseAddress!, path), content, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).Clone();
    }
}

/// <summary>A ledger whose process "dies" (throws) on the first commit: Stripe has accepted, the watermark has not moved.</summary>
internal sealed class DiesBeforeCommit(IUsageLedger inner) : IUsageLedger
{
    public Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken) =>
        inner.FindSubscribersByApiKeyAsync(apiKeyIds, cancellationToken);

    public Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken) =>
        inner.FindSettlingAsync(usagePlanId, by, cancellationToken);

    public Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken) =>
        inner.GetWatermarksAsync(days, cancellationToken);

    public Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) => inner.TryClaimAsync(day, claim, cancellationToken);

    public Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        throw new ProcessDiedException();

    public Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) => inner.TryReleaseAsync(day, claim, cancellationToken);
}

internal sealed class ProcessDiedException : Exception
{
    public ProcessDiedException()
        : base("The process died between the provider's answer and the watermark update.")
    {
    }
}
