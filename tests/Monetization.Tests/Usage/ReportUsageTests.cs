using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.Emulators.Marketplace;

namespace Monetization.Tests.Usage;

/// <summary>The reporter against moto, the Stripe and Marketplace emulators and the API Gateway usage stand-in.</summary>
public sealed class ReportUsageTests(UsageEnvironmentFixture fixture) : IClassFixture<UsageEnvironmentFixture>
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RequestsAcceptedByTheDemoApiAreBilledToTheKeysCustomerOnceAcrossRuns()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        using var http = fixture.Environment.ApiGatewayHttp();
        var key = await PostAsync(http, "/apikeys", $$"""{"name":"usage-{{Guid.NewGuid():N}}","enabled":true}""");
        var keyId = key.GetProperty("id").GetString()!;
        await PostAsync(http, $"/usageplans/{world.StripePlanId}/keys", $$"""{"keyId":"{{keyId}}","keyType":"API_KEY"}""");
        var customerId = await world.StripeSubscriberAsync(keyId, Token);

        using var caller = new HttpClient();
        // Below the base URL the key page's example calls.
        var demo = new Uri(fixture.Environment.ApiBaseUrl, "hello");
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, demo);
            request.Headers.Add("x-api-key", key.GetProperty("value").GetString());
            using var accepted = await caller.SendAsync(request, Token);
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        using var refusedRequest = new HttpRequestMessage(HttpMethod.Get, demo);
        refusedRequest.Headers.Add("x-api-key", "not-a-key-anyone-holds");
        using var refused = await caller.SendAsync(refusedRequest, Token);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("""{"message":"Forbidden"}""", await refused.Content.ReadAsStringAsync(Token));

        var first = await world.Reporter().RunAsync(Token);
        var second = await world.Reporter().RunAsync(Token);

        var meterEvent = Assert.Single(world.EventsOf(customerId));
        Assert.Equal(3, meterEvent.Value);
        Assert.Equal($"usage:{keyId}:{DateTime.UtcNow:yyyyMMdd}:3", meterEvent.Identifier);
        Assert.Equal(3, first.Stripe.UnitsReported);
        Assert.Equal(0, second.Stripe.EventsSent);
    }

    [Fact]
    public async Task AProcessThatDiesAfterStripeAcceptedAndBeforeTheWatermarkMovedBillsEveryUnitOnceEvenWithNewUsageInBetween()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var customerId = await world.StripeSubscriberAsync(keyId, Token);
        world.CountStripe(keyId, world.Today, 10);

        await Assert.ThrowsAsync<ProcessDiedException>(() => world.Reporter(inner => new DiesBeforeCommit(inner)).RunAsync(Token));
        Assert.Equal(10, world.EventsOf(customerId).Sum(e => e.Value));

        world.CountStripe(keyId, world.Today, 5);
        var recovery = await world.Reporter().RunAsync(Token);
        var next = await world.Reporter().RunAsync(Token);

        // The resend of the claim in flight, then the units counted above it, in the same run.
        Assert.Equal(1, recovery.Stripe.EventsResent);
        Assert.Equal(2, recovery.Stripe.EventsSent);
        Assert.Equal(15, world.EventsOf(customerId).Sum(e => e.Value));
        Assert.Equal(
            [$"usage:{keyId}:{world.Today:yyyyMMdd}:10", $"usage:{keyId}:{world.Today:yyyyMMdd}:15"],
            world.EventsOf(customerId).Select(e => e.Identifier).Order(StringComparer.Ordinal));
        Assert.Equal(0, next.Stripe.EventsSent);
    }

    [Fact]
    public async Task TwoRunsAtOnceBillEveryUnitExactlyOnce()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var customers = new Dictionary<string, (string Customer, long Count)>();
        for (var i = 0; i < 30; i++)
        {
            var keyId = UsageWorld.NewKeyId();
            customers[keyId] = (await world.StripeSubscriberAsync(keyId, Token), i + 1);
            world.CountStripe(keyId, world.Today, i + 1);
        }

        var runs = await Task.WhenAll(world.Reporter().RunAsync(Token), world.Reporter().RunAsync(Token));

        // A run may send again what the other claimed and has not committed yet; the identifier makes that one event.
        Assert.InRange(runs.Sum(r => r.Stripe.EventsSent), 30, 60);
        foreach (var (_, (customer, count)) in customers)
        {
            Assert.Equal(count, Assert.Single(world.EventsOf(customer)).Value);
        }
    }

    [Fact]
    public async Task KeysReportedChunkByChunkStillFillEveryStreamRequestButTheLast()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);

        // What is under test is the reporter's chunking and Stripe's stream requests: the subscribers and watermarks
        // are kept in memory (the DynamoDB ledger's batches of more than 100 keys are tested in DynamoDbUsageLedgerTests).
        var ledger = new InMemoryUsageLedger();
        var customers = new (string Customer, long Count)[250];
        await Parallel.ForEachAsync(Enumerable.Range(0, customers.Length), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Token }, async (i, ct) =>
        {
            var keyId = UsageWorld.NewKeyId();
            var customer = await world.StripeCustomerAsync(ct);
            ledger.Add(world.StripeSubscriber(keyId, customer));
            customers[i] = (customer, i + 1);
            world.CountStripe(keyId, world.Today, i + 1);
        });

        var streamBefore = fixture.Environment.Stripe.Requests.Count(r => r.Path == "/v2/billing/meter_event_stream");
        var summary = await world.Reporter(_ => ledger, new Dictionary<string, string?> { ["Usage:KeysPerChunk"] = "120" }).RunAsync(Token);

        Assert.Equal(3, fixture.Environment.Stripe.Requests.Count(r => r.Path == "/v2/billing/meter_event_stream") - streamBefore);
        Assert.Equal(3, summary.Stripe.Requests);
        Assert.All(customers, c => Assert.Equal(c.Count, Assert.Single(world.EventsOf(c.Customer)).Value));
    }

    [Fact]
    public async Task LateCountsForYesterdayAfterMidnightAreBilledInsideYesterdayAndTodaysSeparately()
    {
        // Two days back, so every timestamp the reporter sends is in Stripe's past.
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2);
        var beforeMidnight = new DateTimeOffset(day.ToDateTime(new TimeOnly(23, 50)), TimeSpan.Zero);
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, beforeMidnight, Token);
        var keyId = UsageWorld.NewKeyId();
        var customerId = await world.StripeSubscriberAsync(keyId, Token);
        world.CountStripe(keyId, day, 10);
        await world.Reporter().RunAsync(Token);

        world.CountStripe(keyId, day, 5);
        world.CountStripe(keyId, day.AddDays(1), 7);
        world.Clock.Advance(TimeSpan.FromMinutes(20));
        var afterMidnight = await world.Reporter().RunAsync(Token);

        var events = world.EventsOf(customerId).OrderBy(e => e.Identifier, StringComparer.Ordinal).ToList();
        Assert.Equal(3, events.Count);
        Assert.Equal((10L, beforeMidnight.ToUnixTimeSeconds()), (events[0].Value, events[0].Timestamp));
        Assert.Equal((5L, beforeMidnight.AddMinutes(10).AddSeconds(-1).ToUnixTimeSeconds()), (events[1].Value, events[1].Timestamp));
        Assert.Equal((7L, beforeMidnight.AddMinutes(20).ToUnixTimeSeconds()), (events[2].Value, events[2].Timestamp));
        Assert.Equal(12, afterMidnight.Stripe.UnitsReported);
    }

    [Fact]
    public async Task AKeyWhoseSubscriptionEndsBetweenRunsIsSkippedAndCounted()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var customerId = await world.StripeSubscriberAsync(keyId, Token);
        world.CountStripe(keyId, world.Today, 10);
        await world.Reporter().RunAsync(Token);

        await world.EndSubscriptionAsync(keyId);
        world.CountStripe(keyId, world.Today, 5);
        var afterEnd = await world.Reporter().RunAsync(Token);

        Assert.Equal(1, afterEnd.Stripe.KeysSkipped);
        Assert.Equal(0, afterEnd.Stripe.EventsSent);
        Assert.Equal(10, Assert.Single(world.EventsOf(customerId)).Value);
    }

    [Fact]
    public async Task MarketplaceBuyersAreMeteredInChunksOf25WithUnprocessedRecordsRetriedAndEachStatusHandled()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var buyers = new List<(Subscriber Buyer, int Count)>();
        for (var i = 0; i < 30; i++)
        {
            var keyId = UsageWorld.NewKeyId();
            buyers.Add((await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token), i + 1));
            world.CountMarketplace(keyId, world.Today, i + 1);
        }

        var legacyKey = UsageWorld.NewKeyId();
        await world.MarketplaceBuyerAsync(legacyKey, legacy: true, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(legacyKey, world.Today, 4);
        var unsubscribedKey = UsageWorld.NewKeyId();
        var unsubscribed = await world.MarketplaceBuyerAsync(unsubscribedKey, legacy: false, subscribedAtMarketplace: false, Token);
        world.CountMarketplace(unsubscribedKey, world.Today, 9);
        var requestsBefore = fixture.Environment.Marketplace.Requests.Count(r => r.Operation == "BatchMeterUsage");
        fixture.Environment.Marketplace.LeaveUnprocessed(3);

        var summary = await world.Reporter().RunAsync(Token);

        Assert.Equal(3, fixture.Environment.Marketplace.Requests.Count(r => r.Operation == "BatchMeterUsage") - requestsBefore);
        foreach (var (buyer, count) in buyers)
        {
            Assert.Equal(count, Assert.Single(world.MeteredFor(buyer)).Quantity);
        }

        Assert.Empty(world.MeteredFor(unsubscribed));
        Assert.Equal(1, summary.Marketplace!.NotSubscribed);
        Assert.Equal(1, summary.Marketplace!.KeysMeteredByApiGateway);
        Assert.Equal(30, summary.Marketplace!.RecordsSent);
        Assert.Equal(0, summary.Failures);

        // More usage in the same hour waits for the next hour's record, which Marketplace would otherwise refuse.
        world.CountMarketplace(buyers[0].Buyer.ApiKeyId!, world.Today, 2);
        var sameHour = await world.Reporter().RunAsync(Token);
        Assert.Equal(1, sameHour.Marketplace!.KeysDeferred);
        world.Clock.Advance(TimeSpan.FromHours(1));
        var nextHour = await world.Reporter().RunAsync(Token);
        Assert.Equal(1, nextHour.Marketplace!.RecordsSent);
        Assert.Equal([1, 2], world.MeteredFor(buyers[0].Buyer).Select(m => m.Quantity).Order());
    }

    [Fact]
    public async Task AMarketplaceRecordSentAgainAfterACrashIsAcceptedAsTheSameRecord()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var buyer = await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(keyId, world.Today, 6);

        await Assert.ThrowsAsync<ProcessDiedException>(() => world.Reporter(inner => new DiesBeforeCommit(inner)).RunAsync(Token));
        world.CountMarketplace(keyId, world.Today, 3);
        var recovery = await world.Reporter().RunAsync(Token);

        Assert.Equal(6, Assert.Single(world.MeteredFor(buyer)).Quantity);
        Assert.Equal(1, recovery.Marketplace!.RecordsSent);
        Assert.Equal(0, recovery.Failures);
    }

    [Fact]
    public async Task AMarketplaceClaimLeftBeyondTheSixHourWindowIsWrittenOffNotMeteredAgain()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var buyer = await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(keyId, world.Today, 6);
        await Assert.ThrowsAsync<ProcessDiedException>(() => world.Reporter(inner => new DiesBeforeCommit(inner)).RunAsync(Token));

        world.CountMarketplace(keyId, world.Today, 3);
        world.Clock.Advance(TimeSpan.FromHours(7));
        var late = await world.Reporter().RunAsync(Token);
        var next = await world.Reporter().RunAsync(Token);

        Assert.Equal(6, late.Marketplace!.UnitsWrittenOff);
        Assert.Equal(3, next.Marketplace!.UnitsReported);
        Assert.Equal(9, world.MeteredFor(buyer).Sum(m => m.Quantity));
    }

    [Fact]
    public async Task FlushingABuyerWhoseSubscriptionEndsMetersWhatTheKeyUsedUpToThen()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var buyer = await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token);
        var other = UsageWorld.NewKeyId();
        var otherBuyer = await world.MarketplaceBuyerAsync(other, legacy: false, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(keyId, world.Today, 8);
        world.CountMarketplace(other, world.Today, 2);

        var flushed = await world.MarketplaceMetering().FlushAsync(keyId, Token);

        Assert.Equal(8, Assert.Single(world.MeteredFor(buyer)).Quantity);
        Assert.Empty(world.MeteredFor(otherBuyer));
        Assert.Equal(8, flushed.UnitsReported);
    }

    [Fact]
    public async Task UnitsAFlushCannotSendInAnHourAlreadyMeteredAreMeteredByTheNextHourlyRunThoughTheSubscriptionEnded()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var buyer = await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(keyId, world.Today, 3);
        await world.Reporter().RunAsync(Token);

        await fixture.Environment.Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Deprovisioned - Manufacturer", buyer.CustomerAwsAccountId!, buyer.LicenseArn!), Token);
        await world.EndSubscriptionAsync(keyId);
        world.CountMarketplace(keyId, world.Today, 2);
        var flushed = await world.MarketplaceMetering().FlushAsync(keyId, Token);
        world.Clock.Advance(TimeSpan.FromHours(1));
        var nextHour = await world.Reporter().RunAsync(Token);

        Assert.Equal(1, flushed.KeysDeferred);
        Assert.Equal(0, flushed.RecordsSent);
        Assert.Equal(2, nextHour.Marketplace!.UnitsReported);
        Assert.Equal([2, 3], world.MeteredFor(buyer).Select(m => m.Quantity).Order());
    }

    [Fact]
    public async Task GetUsageFromTheStandInPagesByPositionInBotocoresShape()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        for (var i = 0; i < 3; i++)
        {
            world.CountStripe($"key{i}", world.Today, i + 1);
        }

        var day = world.Today.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        using var proxy = new HttpClient { BaseAddress = fixture.Environment.ApiGateway.Endpoint };
        var first = await GetAsync(proxy, $"/usageplans/{world.StripePlanId}/usage?startDate={day}&endDate={day}&limit=2");
        var second = await GetAsync(proxy, $"/usageplans/{world.StripePlanId}/usage?startDate={day}&endDate={day}&limit=2&position={first.GetProperty("position").GetString()}");

        Assert.Equal(world.StripePlanId, first.GetProperty("usagePlanId").GetString());
        Assert.Equal(day, first.GetProperty("startDate").GetString());
        Assert.Equal(["key0", "key1"], first.GetProperty("values").EnumerateObject().Select(p => p.Name));
        Assert.Equal(2, first.GetProperty("values").GetProperty("key1")[0][0].GetInt64());
        Assert.Equal(["key2"], second.GetProperty("values").EnumerateObject().Select(p => p.Name));
        Assert.False(second.TryGetProperty("position", out _));
    }

    [Fact]
    public async Task TheDemoApiAppliesThePlansThrottleAndQuotaAndRefusesDisabledKeys()
    {
        using var http = fixture.Environment.ApiGatewayHttp();
        var stage = $$"""[{"apiId":"{{fixture.Environment.RestApiId}}","stage":"{{OfflineEnvironment.ApiStage}}"}]""";
        var throttled = await PostAsync(http, "/usageplans", $$"""{"name":"throttled-{{Guid.NewGuid():N}}","apiStages":{{stage}},"throttle":{"rateLimit":0.01,"burstLimit":1} }""");
        var quota = await PostAsync(http, "/usageplans", $$"""{"name":"quota-{{Guid.NewGuid():N}}","apiStages":{{stage}},"quota":{"limit":2,"period":"DAY"} }""");
        async Task<string> KeyInAsync(JsonElement plan, bool enabled)
        {
            var key = await PostAsync(http, "/apikeys", $$"""{"name":"demo-{{Guid.NewGuid():N}}","enabled":{{(enabled ? "true" : "false")}}}""");
            await PostAsync(http, $"/usageplans/{plan.GetProperty("id").GetString()}/keys", $$"""{"keyId":"{{key.GetProperty("id").GetString()}}","keyType":"API_KEY"}""");
            return key.GetProperty("value").GetString()!;
        }

        var throttledKey = await KeyInAsync(throttled, enabled: true);
        var quotaKey = await KeyInAsync(quota, enabled: true);
        var disabledKey = await KeyInAsync(quota, enabled: false);

        Assert.Equal([200, 429], await CallDemoAsync(throttledKey, 2));
        Assert.Equal([200, 200, 429], await CallDemoAsync(quotaKey, 3));
        Assert.Equal([403], await CallDemoAsync(disabledKey, 1));
        Assert.Equal(2, fixture.Environment.Usage.CountOf(quota.GetProperty("id").GetString()!, (await KeyIdOfAsync(http, quotaKey))!, DateOnly.FromDateTime(DateTime.UtcNow)));
    }

    /// <summary>One hourly run while Stripe answers every meter event with 500, more often than the retries.</summary>
    private async Task<UsageReportSummary> RunWithStripeMeterEventsFailingAsync(UsageWorld world)
    {
        fixture.Environment.Stripe.InjectFault(new Emulators.Faults.FaultRule { PathPrefix = "/v1/billing/meter_events", Status = 500, Count = 20 });
        try
        {
            return await world.Reporter().RunAsync(Token);
        }
        finally
        {
            fixture.Environment.Stripe.ClearFaults();
        }
    }

    [Fact]
    public async Task StripeFailingLeavesTheClaimForTheNextRunWhichSendsItOnce()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var customerId = await world.StripeSubscriberAsync(keyId, Token);
        world.CountStripe(keyId, world.Today, 4);
        var failed = await RunWithStripeMeterEventsFailingAsync(world);

        var retried = await world.Reporter().RunAsync(Token);

        Assert.Equal(1, failed.Failures);
        Assert.Equal(1, retried.Stripe.EventsResent);
        Assert.Equal(4, Assert.Single(world.EventsOf(customerId)).Value);
    }

    [Fact]
    public async Task ARevokedKeysPendingClaimAndEverythingCountedAboveItAreBilledWhileItSettles()
    {
        // A report fails and leaves units 0-10 in flight; 5 more are served; then the subscription stops being paid for.
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var customerId = await world.StripeSubscriberAsync(keyId, Token);
        world.CountStripe(keyId, world.Today, 10);
        Assert.Equal(1, (await RunWithStripeMeterEventsFailingAsync(world)).Failures);

        world.CountStripe(keyId, world.Today, 5);
        await world.RevokeAsync(keyId, SubscriberStatus.Suspended);
        var report = await world.Reporter().RunAsync(Token);

        Assert.Equal(1, report.Stripe.EventsResent);
        Assert.Equal(15, report.Stripe.UnitsReported);
        Assert.Equal(15, world.EventsOf(customerId).Sum(e => e.Value));
    }

    [Fact]
    public async Task MarketplaceFailingLeavesTheClaimForTheNextRunWhichMetersItOnce()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var buyer = await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(keyId, world.Today, 5);
        fixture.Environment.Marketplace.Faults.Add(new Emulators.Faults.FaultRule { Status = 500, Count = 20 });

        UsageReportSummary failed;
        try
        {
            failed = await world.Reporter().RunAsync(Token);
        }
        finally
        {
            fixture.Environment.Marketplace.Faults.Clear();
        }

        var retried = await world.Reporter().RunAsync(Token);

        Assert.Equal(1, failed.Failures);
        Assert.Equal(5, Assert.Single(world.MeteredFor(buyer)).Quantity);
        Assert.Equal(1, retried.Marketplace!.RecordsSent);
    }

    [Fact]
    public async Task AMarketplaceBuyerWhoseOnlyLicenseArnIsTheDocumentedEventFormIsCountedNotMeteredAndIsMeteredOnceAValidArnArrives()
    {
        await using var world = await UsageWorld.CreateAsync(fixture.Environment, DateTimeOffset.UtcNow, Token);
        var keyId = UsageWorld.NewKeyId();
        var buyer = await world.MarketplaceBuyerAsync(keyId, legacy: false, subscribedAtMarketplace: true, Token);
        var resolved = buyer.LicenseArn!;
        var documented = $"aws:license-manager:us-east-1:{MarketplaceEmulator.SellerAccountId}:{resolved[(resolved.LastIndexOf(':') + 1)..]}";
        var seeded = (await world.Ledger.GetAsync(buyer.Id, Token))!;
        Assert.True(await world.Ledger.TryReplaceAsync(seeded with { LicenseArn = documented }, seeded.Version, Token));
        var otherKey = UsageWorld.NewKeyId();
        var other = await world.MarketplaceBuyerAsync(otherKey, legacy: false, subscribedAtMarketplace: true, Token);
        world.CountMarketplace(keyId, world.Today, 5);
        world.CountMarketplace(otherKey, world.Today, 3);
        int Refused() => fixture.Environment.Marketplace.Requests.Count(r => r.Operation == "BatchMeterUsage" && r.StatusCode != 200);
        var refusedBefore = Refused();

        var held = await world.Reporter().RunAsync(Token);

        Assert.Equal(1, held.Marketplace!.BuyersUnmeterable);
        Assert.Equal(0, held.Failures);
        Assert.Equal(3, Assert.Single(world.MeteredFor(other)).Quantity);
        Assert.DoesNotContain(fixture.Environment.Marketplace.Metered, m => m.CustomerAwsAccountId == buyer.CustomerAwsAccountId);
        Assert.Equal(refusedBefore, Refused());

        // A license event brings the ARN in the shape Metering takes, decided as the SubscriptionEvents function decides it.
        var stored = (await world.Ledger.GetAsync(buyer.Id, Token))!;
        var licenseUpdated = new Monetization.Core.Marketplace.SubscriptionEvent(
            Monetization.Core.Marketplace.SubscriptionAction.SubscribeSuccess,
            Monetization.Core.Marketplace.MarketplaceCustomer.FromLicense(buyer.CustomerAwsAccountId!, resolved),
            OfflineEnvironment.MarketplaceProductCode,
            world.Clock.GetUtcNow(),
            "license-updated-" + Guid.NewGuid(),
            Monetization.Core.Marketplace.NotificationSource.EventBridge);
        var mended = Monetization.Core.Marketplace.SubscriptionRules.Decide(stored, licenseUpdated, world.Clock.GetUtcNow()).Next!;
        Assert.True(await world.Ledger.TryReplaceAsync(mended, stored.Version, Token));
        var metered = await world.Reporter().RunAsync(Token);

        Assert.Equal(0, metered.Marketplace!.BuyersUnmeterable);
        Assert.Equal(1, metered.Marketplace!.RecordsSent);
        Assert.Equal(5, Assert.Single(world.MeteredFor(buyer)).Quantity);
        Assert.Equal(refusedBefore, Refused());
    }

    private async Task<List<int>> CallDemoAsync(string apiKey, int times)
    {
        using var caller = new HttpClient();
        var statuses = new List<int>();
        for (var i = 0; i < times; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Environment.Usage.DemoApiEndpoint, $"/{OfflineEnvironment.ApiStage}/items"));
            request.Headers.Add("x-api-key", apiKey);
            using var response = await caller.SendAsync(request, Token);
            statuses.Add((int)response.StatusCode);
        }

        return statuses;
    }

    private static async Task<string?> KeyIdOfAsync(HttpClient http, string value)
    {
        var keys = await GetAsync(http, "/apikeys?includeValues=true&limit=500");
        return keys.GetProperty("item").EnumerateArray().First(k => k.GetProperty("value").GetString() == value).GetProperty("id").GetString();
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(http.BaseAddress!, path), content, Token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).Clone();
    }

    private static async Task<JsonElement> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(http.BaseAddress!, path), Token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).Clone();
    }
}
