using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Monetization.Aws.Http;
using Monetization.Aws.Ledger;
using Monetization.Core;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Emulators.AwsStandIn;

namespace Monetization.Tests.Aws;

/// <summary>
/// The one failure policy at the AWS adapters: a service that did not answer usably after the retries is a
/// <see cref="DependencyUnavailableException"/>; a refusal of the request is not.
/// </summary>
public sealed class FailurePolicyTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static StandInResponse AwsJsonError(int status, string type) =>
        new(status, $$"""{"__type":"com.amazonaws.dynamodb.v20120810#{{type}}","message":"scripted"}""", "application/x-amz-json-1.0");

    private static StandInResponse RestError(int status, string type) =>
        new(status, """{"message":"scripted"}""", Headers: new Dictionary<string, string> { ["x-amzn-ErrorType"] = type });

    private static DynamoDbSubscriberLedger Ledger(Uri endpoint) =>
        new(
            new AmazonDynamoDBClient(
                new BasicAWSCredentials("AKIDTESTTESTTESTTEST", "test-secret-key"),
                new AmazonDynamoDBConfig { ServiceURL = endpoint.ToString(), AuthenticationRegion = "us-east-1", MaxErrorRetry = 1 }),
            "ledger");

    private static Subscriber NewSubscriber() => new()
    {
        Id = "stripe#ada@example.com",
        Channel = Channel.Stripe,
        Status = SubscriberStatus.Pending,
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public async Task ApiGatewayThrottlingThatOutlastsTheRetriesIsDependencyUnavailable()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => RestError(429, "TooManyRequestsException"), Cancel);
        var client = AwsTestClients.ApiGateway(server.Endpoint, maxRetries: 1);

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => client.DeleteApiKeyAsync("k1", Cancel));

        Assert.Equal(AwsErrorKind.Throttled, Assert.IsType<AwsServiceException>(unavailable.InnerException).Kind);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task AnApiGatewayThatCannotBeReachedIsDependencyUnavailable()
    {
        var client = AwsTestClients.ApiGateway(new Uri($"http://127.0.0.1:{FreePort.Next()}/"), maxRetries: 0);

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => client.DeleteApiKeyAsync("k1", Cancel));

        Assert.Equal("apigateway", unavailable.Dependency);
        Assert.IsType<HttpRequestException>(unavailable.InnerException);
    }

    [Theory]
    [InlineData(404, "NotFoundException", AwsErrorKind.NotFound)]
    [InlineData(409, "ConflictException", AwsErrorKind.Conflict)]
    [InlineData(400, "BadRequestException", AwsErrorKind.BadRequest)]
    [InlineData(403, "AccessDeniedException", AwsErrorKind.AccessDenied)]
    public async Task ARefusalOfTheRequestStaysATypedAwsErrorAndIsNotAnOutage(int status, string type, AwsErrorKind kind)
    {
        await using var server = await AwsStandInServer.StartAsync(_ => RestError(status, type), Cancel);
        var client = AwsTestClients.ApiGateway(server.Endpoint);

        var error = await Assert.ThrowsAsync<AwsServiceException>(() => client.DeleteApiKeyAsync("k1", Cancel));

        Assert.Equal(kind, error.Kind);
    }

    [Theory]
    [InlineData(400, "ProvisionedThroughputExceededException")]
    [InlineData(400, "ThrottlingException")]
    [InlineData(500, "InternalServerError")]
    public async Task ADynamoDbThatKeepsRefusingForItsOwnReasonsIsDependencyUnavailable(int status, string type)
    {
        await using var server = await AwsStandInServer.StartAsync(_ => AwsJsonError(status, type), Cancel);

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => Ledger(server.Endpoint).GetAsync("stripe#ada@example.com", Cancel));

        Assert.Equal("dynamodb", unavailable.Dependency);
        Assert.Equal("GetItem", unavailable.Operation);
        Assert.IsAssignableFrom<AmazonServiceException>(unavailable.InnerException);
    }

    [Fact]
    public async Task ADynamoDbThatCannotBeReachedIsDependencyUnavailable()
    {
        var ledger = Ledger(new Uri($"http://127.0.0.1:{FreePort.Next()}/"));

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => ledger.GetAsync("stripe#ada@example.com", Cancel));

        Assert.Equal("dynamodb", unavailable.Dependency);
    }

    [Fact]
    public async Task ADynamoDbValidationErrorIsAProgrammingErrorNotAnOutage()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => AwsJsonError(400, "ValidationException"), Cancel);

        var error = await Assert.ThrowsAsync<AmazonDynamoDBException>(() => Ledger(server.Endpoint).GetAsync("stripe#ada@example.com", Cancel));

        Assert.Equal("ValidationException", error.ErrorCode);
    }

    [Fact]
    public async Task AFailedConditionStaysTheLedgersAnswer()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => AwsJsonError(400, "ConditionalCheckFailedException"), Cancel);

        Assert.False(await Ledger(server.Endpoint).TryCreateAsync(NewSubscriber(), Cancel));
    }
}
