using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Monetization.Aws.Http;
using Monetization.Aws.Marketplace;
using Monetization.Core;
using Monetization.Core.Marketplace;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Marketplace;
using Monetization.Tests.Aws;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Marketplace;

/// <summary>The Marketplace emulator, called through the production Metering client wherever the client allows it.</summary>
public sealed class MarketplaceEmulatorTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static AwsMarketplaceMetering Metering(MarketplaceEmulator emulator, int maxRetries = 3) =>
        new(AwsTestClients.Metering(emulator.Endpoint, maxRetries));

    private static MeteringRecord Record(MintedToken buyer, DateTimeOffset at, int quantity, string dimension = "requests") =>
        new(at, buyer.CustomerIdentifier, null, null, dimension, quantity);

    [Fact]
    public async Task AMintedLegacyTokenResolvesToItsBuyerWithACustomerIdentifier()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var minted = emulator.MintToken();

        var outcome = await Metering(emulator).ResolveCustomerAsync(new Secret(minted.Token), Cancel);

        var resolved = Assert.IsType<ResolveCustomerOutcome.Resolved>(outcome);
        Assert.Equal(minted.CustomerIdentifier, resolved.CustomerIdentifier);
        Assert.Equal(minted.CustomerAwsAccountId, resolved.CustomerAwsAccountId);
        Assert.Equal("prod-sandbox1234", resolved.ProductCode);
        Assert.StartsWith("arn:aws:license-manager::", resolved.LicenseArn, StringComparison.Ordinal);
        Assert.Matches("^[0-9]{12}$", resolved.CustomerAwsAccountId);
    }

    [Fact]
    public async Task ANewStyleTokenResolvesWithoutACustomerIdentifier()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var minted = emulator.MintToken(new MintTokenRequest { Style = BuyerStyle.NewStyle });

        var resolved = Assert.IsType<ResolveCustomerOutcome.Resolved>(await Metering(emulator).ResolveCustomerAsync(new Secret(minted.Token), Cancel));

        Assert.Null(resolved.CustomerIdentifier);
        Assert.Equal(minted.LicenseArn, resolved.LicenseArn);
        Assert.True(MarketplaceCustomer.TryFromResolved(resolved, out var customer, out _));
        Assert.StartsWith("acct:", customer.Key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExpiredUnknownAndOtherProductTokensAnswerAsMarketplaceDoes()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var metering = Metering(emulator);

        var expired = await metering.ResolveCustomerAsync(new Secret(emulator.MintToken(new MintTokenRequest { Expired = true }).Token), Cancel);
        var unknown = await metering.ResolveCustomerAsync(new Secret("not-a-token-marketplace-minted"), Cancel);
        var other = await metering.ResolveCustomerAsync(new Secret(emulator.MintToken(new MintTokenRequest { ProductCode = "prod-someoneelse" }).Token), Cancel);

        Assert.IsType<ResolveCustomerOutcome.ExpiredToken>(expired);
        Assert.IsType<ResolveCustomerOutcome.InvalidToken>(unknown);
        Assert.Equal("prod-someoneelse", Assert.IsType<ResolveCustomerOutcome.Resolved>(other).ProductCode);
        Assert.Equal(["ExpiredTokenException", "InvalidTokenException", null], emulator.Requests.Select(r => r.ErrorType));
    }

    [Fact]
    public async Task UnsignedOrWronglyScopedRequestsAreRefused()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };

        async Task<(HttpStatusCode Status, string? Type)> SendAsync(string? authorization)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/")
            {
                Content = new StringContent("""{"RegistrationToken":"x"}""", Encoding.UTF8, "application/x-amz-json-1.1"),
            };
            request.Headers.TryAddWithoutValidation("X-Amz-Target", "AWSMPMeteringService.ResolveCustomer");
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await http.SendAsync(request, Cancel);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
            return (response.StatusCode, body.RootElement.GetProperty("__type").GetString());
        }

        var unsigned = await SendAsync(null);
        var wrongService = await SendAsync("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00");
        var wrongRegion = await SendAsync("AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00");
        var scoped = await SendAsync("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/aws-marketplace/aws4_request, SignedHeaders=host, Signature=00");

        Assert.Equal((HttpStatusCode.Forbidden, "MissingAuthenticationTokenException"), unsigned);
        Assert.Equal((HttpStatusCode.Forbidden, "InvalidSignatureException"), wrongService);
        Assert.Equal((HttpStatusCode.Forbidden, "InvalidSignatureException"), wrongRegion);
        Assert.Equal((HttpStatusCode.BadRequest, "InvalidTokenException"), scoped);
    }

    [Fact]
    public async Task MoreThanTwentyFiveRecordsAreAValidationError()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var now = DateTimeOffset.UtcNow;
        var records = Enumerable.Range(0, 26).Select(i => new UsageRecord(now, "requests", 1, "cust-" + i)).ToList();

        // The production client refuses to send such a batch, so the raw request goes out signed by hand.
        using var http = AwsTestClients.Http(Monetization.Aws.AwsService.MarketplaceMetering, AwsTestClients.Options(emulator.Endpoint, maxRetries: 0));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/")
        {
            Content = new StringContent(
                JsonSerializer.Serialize(new { ProductCode = "prod-sandbox1234", UsageRecords = records.Select(r => new { Timestamp = r.Timestamp.ToUnixTimeSeconds(), r.Dimension, r.Quantity, r.CustomerIdentifier }) }),
                Encoding.UTF8,
                "application/x-amz-json-1.1"),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "AWSMPMeteringService.BatchMeterUsage");
        using var response = await http.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("ValidationException", await response.Content.ReadAsStringAsync(Cancel), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARecordWhoseLicenseArnFailsTheModelsPatternRefusesTheWholeBatchAsAValidationError()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var legacy = emulator.MintToken();
        await emulator.DeliverSnsAsync(new SnsNotification("subscribe-success", legacy.CustomerIdentifier!), Cancel);
        const string account = "845735284135";
        const string documented = "aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x";
        await emulator.DeliverEventBridgeAsync(new AgreementEvent("License Updated - Manufacturer", account, documented), Cancel);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        object Legacy() => new { Timestamp = now, Dimension = "requests", Quantity = 1, legacy.CustomerIdentifier };
        object ByLicense(string licenseArn) => new { Timestamp = now, Dimension = "requests", Quantity = 2, CustomerAWSAccountId = account, LicenseArn = licenseArn };

        // The production client refuses to send such a record, so the raw request goes out signed by hand.
        using var http = AwsTestClients.Http(Monetization.Aws.AwsService.MarketplaceMetering, AwsTestClients.Options(emulator.Endpoint, maxRetries: 0));
        async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(params object[] records)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/")
            {
                Content = new StringContent(
                    JsonSerializer.Serialize(new { ProductCode = "prod-sandbox1234", UsageRecords = records }),
                    Encoding.UTF8,
                    "application/x-amz-json-1.1"),
            };
            request.Headers.TryAddWithoutValidation("X-Amz-Target", "AWSMPMeteringService.BatchMeterUsage");
            using var response = await http.SendAsync(request, Cancel);
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Cancel));
            return (response.StatusCode, body.RootElement.Clone());
        }

        var refused = await SendAsync(Legacy(), ByLicense(documented));

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(["__type", "message"], refused.Body.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ValidationException", refused.Body.GetProperty("__type").GetString());
        Assert.Equal(
            $"1 validation error detected: Value '{documented}' at 'usageRecords.2.member.licenseArn' failed to satisfy constraint: "
            + "Member must satisfy regular expression pattern: ^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$",
            refused.Body.GetProperty("message").GetString());
        Assert.Equal("ValidationException", emulator.Requests[^1].ErrorType);
        Assert.Empty(emulator.Metered);

        var accepted = await SendAsync(Legacy(), ByLicense("arn:aws:license-manager::123456789012:license:l-e52ca6f38bf84d0fafb8802ca15ac11x"));

        Assert.Equal(HttpStatusCode.OK, accepted.Status);
        Assert.Equal(["Success", "Success"], accepted.Body.GetProperty("Results").EnumerateArray().Select(r => r.GetProperty("Status").GetString()));
        Assert.Equal(2, emulator.Metered.Count);
    }

    [Fact]
    public async Task ARecordOlderThanSixHoursRefusesTheWholeBatch()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var buyer = emulator.MintToken();
        await emulator.DeliverSnsAsync(new SnsNotification("subscribe-success", buyer.CustomerIdentifier!), Cancel);
        var now = DateTimeOffset.UtcNow;

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => Metering(emulator).BatchMeterUsageAsync(
            "prod-sandbox1234", [Record(buyer, now, 1), Record(buyer, now.AddHours(-6).AddMinutes(-1), 1, "other")], Cancel));

        Assert.Equal("TimestampOutOfBoundsException", error.ErrorCode);
        Assert.Empty(emulator.Metered);
    }

    [Fact]
    public async Task RecordsAreSuccessNotSubscribedOrDuplicateAsTheModelDescribes()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var subscribed = emulator.MintToken();
        var notYet = emulator.MintToken();
        await emulator.DeliverSnsAsync(new SnsNotification("subscribe-success", subscribed.CustomerIdentifier!), Cancel);
        var hour = new DateTimeOffset(DateTimeOffset.UtcNow.Year, DateTimeOffset.UtcNow.Month, DateTimeOffset.UtcNow.Day, DateTimeOffset.UtcNow.Hour, 0, 0, TimeSpan.Zero);
        var metering = Metering(emulator);

        var first = await metering.BatchMeterUsageAsync("prod-sandbox1234", [Record(subscribed, hour, 5), Record(notYet, hour, 5)], Cancel);
        var again = await metering.BatchMeterUsageAsync("prod-sandbox1234", [Record(subscribed, hour, 5)], Cancel);
        var changed = await metering.BatchMeterUsageAsync("prod-sandbox1234", [Record(subscribed, hour.AddMinutes(1), 7)], Cancel);

        Assert.Equal([MeteringRecordStatus.Success, MeteringRecordStatus.CustomerNotSubscribed], first.Select(r => r.Status));
        Assert.Equal(MeteringRecordStatus.Success, Assert.Single(again).Status);
        Assert.Equal(first[0].MeteringRecordId, again[0].MeteringRecordId);
        Assert.Equal(MeteringRecordStatus.DuplicateRecord, Assert.Single(changed).Status);
        Assert.Equal(5, Assert.Single(emulator.Metered).Quantity);
    }

    [Fact]
    public async Task LicenseDeprovisionedLeavesOneHourOfMeteringAndUnsubscribeSuccessEndsItAtOnce()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 12, 1, 10, 15, 0, TimeSpan.Zero));
        await using var emulator = await MarketplaceEmulator.StartAsync(new MarketplaceEmulatorOptions { TimeProvider = clock }, Cancel);
        var account = "361234567890";
        var license = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
        var legacy = emulator.MintToken();
        await emulator.DeliverEventBridgeAsync(new AgreementEvent("License Updated - Manufacturer", account, license), Cancel);
        await emulator.DeliverSnsAsync(new SnsNotification("subscribe-success", legacy.CustomerIdentifier!), Cancel);
        var metering = Metering(emulator);
        MeteringRecord NewStyle(int quantity) => new(clock.GetUtcNow(), null, account, license, "requests", quantity);

        await emulator.DeliverEventBridgeAsync(new AgreementEvent("Purchase Agreement Ended - Proposer", account, license), Cancel);
        var afterAgreementEnded = await metering.BatchMeterUsageAsync("prod-sandbox1234", [NewStyle(1)], Cancel);
        await emulator.DeliverEventBridgeAsync(new AgreementEvent("License Deprovisioned - Manufacturer", account, license), Cancel);
        clock.Advance(TimeSpan.FromMinutes(59));
        var insideFinalHour = await metering.BatchMeterUsageAsync("prod-sandbox1234", [NewStyle(2)], Cancel);
        clock.Advance(TimeSpan.FromMinutes(1));
        var afterFinalHour = await metering.BatchMeterUsageAsync("prod-sandbox1234", [NewStyle(3)], Cancel);
        await emulator.DeliverSnsAsync(new SnsNotification("unsubscribe-pending", legacy.CustomerIdentifier!), Cancel);
        var pending = await metering.BatchMeterUsageAsync("prod-sandbox1234", [Record(legacy, clock.GetUtcNow(), 4)], Cancel);
        await emulator.DeliverSnsAsync(new SnsNotification("unsubscribe-success", legacy.CustomerIdentifier!), Cancel);
        var unsubscribed = await metering.BatchMeterUsageAsync("prod-sandbox1234", [Record(legacy, clock.GetUtcNow().AddSeconds(1), 5, "other")], Cancel);

        Assert.Equal(MeteringRecordStatus.Success, Assert.Single(afterAgreementEnded).Status);
        Assert.Equal(MeteringRecordStatus.Success, Assert.Single(insideFinalHour).Status);
        Assert.Equal(MeteringRecordStatus.CustomerNotSubscribed, Assert.Single(afterFinalHour).Status);
        Assert.Equal(MeteringRecordStatus.Success, Assert.Single(pending).Status);
        Assert.Equal(MeteringRecordStatus.CustomerNotSubscribed, Assert.Single(unsubscribed).Status);
    }

    [Fact]
    public async Task InjectedUnprocessedRecordsComeBackToBeSentAgain()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        var buyer = emulator.MintToken();
        await emulator.DeliverSnsAsync(new SnsNotification("subscribe-success", buyer.CustomerIdentifier!), Cancel);
        emulator.LeaveUnprocessed(1);
        var now = DateTimeOffset.UtcNow;

        var results = await Metering(emulator).BatchMeterUsageAsync("prod-sandbox1234", [Record(buyer, now, 1, "a"), Record(buyer, now, 1, "b")], Cancel);

        Assert.Contains(results, r => r.Record.Dimension == "a" && r.Status == MeteringRecordStatus.Unprocessed);
        Assert.Contains(results, r => r.Record.Dimension == "b" && r.Status == MeteringRecordStatus.Success);
        Assert.Equal("b", Assert.Single(emulator.Metered).Dimension);
    }

    [Fact]
    public async Task AThrottlingFaultOnResolveCustomerIsRetriedByTheClient()
    {
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Cancel);
        emulator.Faults.Add(new FaultRule { PathPrefix = "/ResolveCustomer", Status = 400, Count = 2 });
        var minted = emulator.MintToken();

        var outcome = await Metering(emulator).ResolveCustomerAsync(new Secret(minted.Token), Cancel);

        Assert.IsType<ResolveCustomerOutcome.Resolved>(outcome);
    }

    [Fact]
    public async Task TheControlApiMintsTokensAndDeliversEventsToTheSink()
    {
        string? received = null;
        await using var emulator = await MarketplaceEmulator.StartAsync(
            new MarketplaceEmulatorOptions
            {
                EventSink = async (input, ct) =>
                {
                    using var reader = new StreamReader(input);
                    received = await reader.ReadToEndAsync(ct);
                    return new MemoryStream("""{"records":1}"""u8.ToArray());
                },
            },
            Cancel);
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };

        using var minted = await http.PostAsJsonAsync("/_emulator/tokens", new { style = "newStyle" }, Cancel);
        using var mintedBody = JsonDocument.Parse(await minted.Content.ReadAsStringAsync(Cancel));
        var token = mintedBody.RootElement.GetProperty("token").GetString()!;
        using var delivered = await http.PostAsJsonAsync("/_emulator/events/sns", new { action = "subscribe-success", customerIdentifier = "cust-control" }, Cancel);
        using var deliveredBody = JsonDocument.Parse(await delivered.Content.ReadAsStringAsync(Cancel));
        using var purchase = await http.PostAsJsonAsync("/_emulator/purchases", new { }, Cancel);

        Assert.Equal(HttpStatusCode.Created, minted.StatusCode);
        Assert.Equal(JsonValueKind.Null, mintedBody.RootElement.GetProperty("customerIdentifier").ValueKind);
        Assert.IsType<ResolveCustomerOutcome.Resolved>(await Metering(emulator).ResolveCustomerAsync(new Secret(token), Cancel));
        Assert.True(deliveredBody.RootElement.GetProperty("succeeded").GetBoolean());
        Assert.Equal(1, deliveredBody.RootElement.GetProperty("response").GetProperty("records").GetInt32());
        using var sns = JsonDocument.Parse(received!);
        var record = sns.RootElement.GetProperty("Records")[0];
        Assert.Equal("aws:sns", record.GetProperty("EventSource").GetString());
        Assert.Equal("arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-prod-sandbox1234", record.GetProperty("Sns").GetProperty("TopicArn").GetString());
        using var message = JsonDocument.Parse(record.GetProperty("Sns").GetProperty("Message").GetString()!);
        Assert.Equal("cust-control", message.RootElement.GetProperty("customer-identifier").GetString());
        Assert.Equal("false", message.RootElement.GetProperty("isFreeTrialTermPresent").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, purchase.StatusCode);
    }
}
