using System.Text.Json;
using Monetization.Aws.Http;
using Monetization.Aws.Marketplace;
using Monetization.Core;
using Monetization.Core.Marketplace;
using Monetization.Emulators.AwsStandIn;

namespace Monetization.Tests.Aws;

/// <summary>Marketplace Metering has no emulator; the stand-in checks the JSON 1.1 request and plays the documented answers.</summary>
public sealed class MarketplaceMeteringAgainstStandInTests
{
    private const string Token = "registration-token-that-must-stay-private";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static StandInResponse Ok(string body) => new(200, body, "application/x-amz-json-1.1");

    private static StandInResponse Error(int status, string type, string message) =>
        new(status, $$"""{"__type":"{{type}}","message":"{{message}}"}""", "application/x-amz-json-1.1");

    private static void AssertJson11Call(StandInRequest request, string operation)
    {
        Assert.Equal("POST", request.Method);
        Assert.Equal("/", request.Path);
        Assert.Equal($"AWSMPMeteringService.{operation}", request.Header("X-Amz-Target"));
        Assert.Equal("application/x-amz-json-1.1", request.Header("Content-Type"));
        var scope = request.CredentialScope;
        Assert.Equal(5, scope.Count);
        Assert.Equal("us-east-1", scope[2]);
        Assert.Equal("aws-marketplace", scope[3]);
        Assert.Contains("x-amz-target", request.Header("Authorization"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolvingAValidTokenReturnsTheBuyerAndSendsTheTokenSigned()
    {
        await using var server = await AwsStandInServer.StartAsync(
            _ => Ok("""{"CustomerIdentifier":"cust-1","CustomerAWSAccountId":"123456789012","ProductCode":"prod-1","LicenseArn":"arn:aws:license-manager::123:license:l-1"}"""),
            Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        var outcome = await metering.ResolveCustomerAsync(new Secret(Token), Cancel);

        Assert.Equal(
            new ResolveCustomerOutcome.Resolved("cust-1", "123456789012", "prod-1", "arn:aws:license-manager::123:license:l-1"),
            outcome);
        var request = Assert.Single(server.Requests);
        AssertJson11Call(request, "ResolveCustomer");
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(Token, body.RootElement.GetProperty("RegistrationToken").GetString());
    }

    [Fact]
    public async Task ANewProductsBuyerHasNoCustomerIdentifier()
    {
        await using var server = await AwsStandInServer.StartAsync(
            _ => Ok("""{"CustomerAWSAccountId":"123456789012","ProductCode":"prod-1","LicenseArn":"arn:l"}"""), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        var outcome = Assert.IsType<ResolveCustomerOutcome.Resolved>(await metering.ResolveCustomerAsync(new Secret(Token), Cancel));

        Assert.Null(outcome.CustomerIdentifier);
        Assert.Equal("123456789012", outcome.CustomerAwsAccountId);
    }

    [Fact]
    public async Task AnInvalidTokenIsAnOutcomeAndIsNotRetried()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Error(400, "InvalidTokenException", "Registration token is invalid"), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        Assert.IsType<ResolveCustomerOutcome.InvalidToken>(await metering.ResolveCustomerAsync(new Secret(Token), Cancel));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task AnExpiredTokenIsAnOutcome()
    {
        await using var server = await AwsStandInServer.StartAsync(
            _ => Error(400, "com.amazonaws.marketplace.metering#ExpiredTokenException", "Registration token is expired"), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        Assert.IsType<ResolveCustomerOutcome.ExpiredToken>(await metering.ResolveCustomerAsync(new Secret(Token), Cancel));
    }

    [Fact]
    public async Task ThrottlingSentAs400IsRetriedUntilItSucceeds()
    {
        var attempts = 0;
        await using var server = await AwsStandInServer.StartAsync(
            _ => Interlocked.Increment(ref attempts) == 1
                ? Error(400, "ThrottlingException", "Rate exceeded")
                : Ok("""{"CustomerAWSAccountId":"123456789012","ProductCode":"prod-1"}"""),
            Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        Assert.IsType<ResolveCustomerOutcome.Resolved>(await metering.ResolveCustomerAsync(new Secret(Token), Cancel));
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task AnInternalErrorIsRetriedThenSurfacesWithoutTheToken()
    {
        await using var server = await AwsStandInServer.StartAsync(
            _ => Error(500, "InternalServiceErrorException", $"could not process token {Token}"), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint, maxRetries: 2));

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => metering.ResolveCustomerAsync(new Secret(Token), Cancel));

        var error = Assert.IsType<AwsServiceException>(unavailable.InnerException);
        Assert.DoesNotContain(Token, unavailable.ToString(), StringComparison.Ordinal);
        Assert.Equal(AwsErrorKind.ServiceUnavailable, error.Kind);
        Assert.Equal("InternalServiceErrorException", error.ErrorCode);
        Assert.Equal(3, server.Requests.Count);
        Assert.DoesNotContain(Token, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AValidationErrorIsNotRetriedAndSurfacesAsBadRequest()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Error(400, "InvalidProductCodeException", "no such product"), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => metering.ResolveCustomerAsync(new Secret(Token), Cancel));

        Assert.Equal(AwsErrorKind.BadRequest, error.Kind);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task MeteringSendsEpochSecondsAndMapsEveryResultBackToTheCallersRecord()
    {
        var hour = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
        var byAccount = new MeteringRecord(hour, null, "111122223333", "arn:aws:license-manager::123456789012:license:l-1", "requests", 40);
        var legacy = new MeteringRecord(hour, "cust-legacy", null, null, "requests", 2);
        var duplicate = new MeteringRecord(hour.AddHours(1), null, "444455556666", "arn:aws:license-manager::123456789012:license:l-2", "requests", 1);
        var unprocessed = new MeteringRecord(hour, null, "777788889999", "arn:aws:license-manager::123456789012:license:l-3", "requests", 9);
        await using var server = await AwsStandInServer.StartAsync(
            _ => Ok($$"""
                {"Results":[
                  {"UsageRecord":{"Timestamp":{{hour.ToUnixTimeSeconds()}},"CustomerAWSAccountId":"111122223333","LicenseArn":"arn:aws:license-manager::123456789012:license:l-1","Dimension":"requests","Quantity":40},"MeteringRecordId":"m-1","Status":"Success"},
                  {"UsageRecord":{"Timestamp":{{hour.ToUnixTimeSeconds()}}.0,"CustomerIdentifier":"cust-legacy","Dimension":"requests","Quantity":2},"MeteringRecordId":"m-2","Status":"CustomerNotSubscribed"},
                  {"UsageRecord":{"Timestamp":{{hour.AddHours(1).ToUnixTimeSeconds()}},"CustomerAWSAccountId":"444455556666","LicenseArn":"arn:aws:license-manager::123456789012:license:l-2","Dimension":"requests","Quantity":1},"MeteringRecordId":"m-3","Status":"DuplicateRecord"}],
                 "UnprocessedRecords":[{"Timestamp":{{hour.ToUnixTimeSeconds()}},"CustomerAWSAccountId":"777788889999","LicenseArn":"arn:aws:license-manager::123456789012:license:l-3","Dimension":"requests","Quantity":9}]}
                """),
            Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));

        var results = await metering.BatchMeterUsageAsync("prod-1", [byAccount, legacy, duplicate, unprocessed], Cancel);

        Assert.Equal(
            [
                new MeteringRecordResult(byAccount, MeteringRecordStatus.Success, "m-1"),
                new MeteringRecordResult(legacy, MeteringRecordStatus.CustomerNotSubscribed, "m-2"),
                new MeteringRecordResult(duplicate, MeteringRecordStatus.DuplicateRecord, "m-3"),
                new MeteringRecordResult(unprocessed, MeteringRecordStatus.Unprocessed, null),
            ],
            results);
        var request = Assert.Single(server.Requests);
        AssertJson11Call(request, "BatchMeterUsage");
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("prod-1", body.RootElement.GetProperty("ProductCode").GetString());
        var first = body.RootElement.GetProperty("UsageRecords")[0];
        Assert.Equal(JsonValueKind.Number, first.GetProperty("Timestamp").ValueKind);
        Assert.Equal(hour.ToUnixTimeSeconds(), first.GetProperty("Timestamp").GetInt64());
        Assert.Equal("111122223333", first.GetProperty("CustomerAWSAccountId").GetString());
        Assert.Equal("arn:aws:license-manager::123456789012:license:l-1", first.GetProperty("LicenseArn").GetString());
        Assert.False(first.TryGetProperty("CustomerIdentifier", out _));
        Assert.Equal(40, first.GetProperty("Quantity").GetInt32());
        Assert.Equal("cust-legacy", body.RootElement.GetProperty("UsageRecords")[1].GetProperty("CustomerIdentifier").GetString());
    }

    [Fact]
    public async Task MoreThanTwentyFiveRecordsAreRefusedBeforeAnyCall()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Ok("{}"), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));
        var records = Enumerable.Range(0, 26)
            .Select(i => new MeteringRecord(DateTimeOffset.UnixEpoch.AddDays(20_000), null, $"{i:D12}", $"arn:aws:license-manager::123456789012:license:l-{i}", "requests", 1))
            .ToList();

        await Assert.ThrowsAsync<ArgumentException>(() => metering.BatchMeterUsageAsync("prod-1", records, Cancel));
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ARecordWhoseLicenseArnBatchMeterUsageWouldRefuseIsRefusedBeforeAnyCall()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => Ok("""{"Results":[],"UnprocessedRecords":[]}"""), Cancel);
        var metering = new AwsMarketplaceMetering(AwsTestClients.Metering(server.Endpoint));
        var hour = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
        MeteringRecord[] records =
        [
            new(hour, null, "111122223333", "arn:aws:license-manager::123456789012:license:l-1", "requests", 4),
            new(hour, null, "444455556666", "aws:license-manager:us-east-1:123456789012:l-2", "requests", 1),
        ];

        await Assert.ThrowsAsync<ArgumentException>(() => metering.BatchMeterUsageAsync("prod-1", records, Cancel));
        Assert.Empty(server.Requests);
    }
}
