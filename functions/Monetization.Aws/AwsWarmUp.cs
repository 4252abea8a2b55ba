using System.Text.Json;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Aws.Ledger;

namespace Monetization.Aws;

/// <summary>
/// What an event function's first event would otherwise pay for on AWS's side, done while the function starts and
/// never over the network: the default credential chain resolved (it caches its answer, which the clients then use), a
/// request signed, API Gateway's answers read by their generated serializers, and the ledger's DynamoDB calls run on
/// canned answers (<see cref="DynamoDbWarmUp"/>).
/// </summary>
public static class AwsWarmUp
{
    public static async Task RunAsync(CancellationToken cancellationToken)
    {
        var ledger = Task.Run(() => DynamoDbWarmUp.RunAsync(cancellationToken), cancellationToken);
        var credentials = await AwsCredentialsSource.DefaultChain.GetAsync(cancellationToken).ConfigureAwait(false);
        using (var request = new HttpRequestMessage(HttpMethod.Get, new Uri("https://apigateway.us-east-1.amazonaws.com/apikeys?name=warm-up&includeValues=true")))
        {
            AwsRequestSigner.Sign(request, [], credentials, "us-east-1", "apigateway", DateTimeOffset.UnixEpoch);
        }

        _ = JsonSerializer.Deserialize(
            """{"position":null,"item":[{"id":"k","name":"warm-up","enabled":false,"tags":{"channel":"marketplace"}}]}"""u8,
            ApiGatewayJsonContext.Default.ApiKeysPage);
        _ = JsonSerializer.Deserialize("""{"id":"k","name":"warm-up","value":"v","enabled":true}"""u8, ApiGatewayJsonContext.Default.ApiGatewayApiKey);
        _ = JsonSerializer.SerializeToUtf8Bytes(new CreateUsagePlanKeyRequest("k", "API_KEY"), ApiGatewayJsonContext.Default.CreateUsagePlanKeyRequest);
        await ledger.ConfigureAwait(false);
    }
}
