using System.Net;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;

namespace Monetization.Aws.Ledger;

/// <summary>
/// Runs the DynamoDB calls the ledger makes once, in process, against canned answers and never over the network: the
/// SDK's request pipeline, signer, marshallers and unmarshallers are loaded and compiled while the function starts (on
/// another core, beside the host being built), so the first event does not pay for them. A client of its own, with
/// fixed stand-in credentials: the credential chain and the real client are not touched.
/// </summary>
public static class DynamoDbWarmUp
{
    public static async Task RunAsync(CancellationToken cancellationToken)
    {
        var config = new AmazonDynamoDBConfig
        {
            ServiceURL = "https://warm-up.invalid",
            AuthenticationRegion = "us-east-1",
            MaxErrorRetry = 0,
            HttpClientFactory = new CannedFactory(),
        };
        using var client = new AmazonDynamoDBClient(new BasicAWSCredentials("warm", "up"), config);
        var key = new Dictionary<string, AttributeValue> { ["pk"] = new("SUB#warm-up"), ["sk"] = new("SUB") };
        await client.GetItemAsync(new GetItemRequest { TableName = "warm-up", Key = key, ConsistentRead = true }, cancellationToken).ConfigureAwait(false);
        await client.PutItemAsync(
            new PutItemRequest
            {
                TableName = "warm-up",
                Item = new(key) { ["version"] = new() { N = "1" }, ["flags"] = new() { BOOL = true } },
                ConditionExpression = "attribute_not_exists(pk) OR version = :expected",
                ExpressionAttributeValues = new() { [":expected"] = new() { N = "0" } },
            },
            cancellationToken).ConfigureAwait(false);
        await client.UpdateItemAsync(
            new UpdateItemRequest
            {
                TableName = "warm-up",
                Key = key,
                UpdateExpression = "SET version = :next",
                ExpressionAttributeValues = new() { [":next"] = new() { N = "2" } },
                ReturnValuesOnConditionCheckFailure = ReturnValuesOnConditionCheckFailure.ALL_OLD,
            },
            cancellationToken).ConfigureAwait(false);
        await client.TransactWriteItemsAsync(
            new TransactWriteItemsRequest
            {
                TransactItems = [new TransactWriteItem { Put = new Put { TableName = "warm-up", Item = key, ConditionExpression = "attribute_not_exists(pk)" } }],
            },
            cancellationToken).ConfigureAwait(false);
    }

    private sealed class CannedFactory : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new CannedAnswers());

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => true;
    }

    /// <summary>DynamoDB's answer to every call above when nothing is returned: an empty JSON object.</summary>
    private sealed class CannedAnswers : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = new HttpResponseMessage(HttpStatusCode.OK)
            {
                RequestMessage = request,
                Content = new StringContent("{}", Encoding.UTF8, "application/x-amz-json-1.0"),
            };
            response.Headers.TryAddWithoutValidation("x-amzn-RequestId", "warm-up");
            return Task.FromResult(response);
        }
    }
}
