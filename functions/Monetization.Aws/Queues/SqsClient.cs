using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Monetization.Aws.Http;

namespace Monetization.Aws.Queues;

/// <summary>Amazon SQS's SendMessage on the JSON 1.0 protocol (<c>X-Amz-Target: AmazonSQS.SendMessage</c>). Refusals surface as <see cref="AwsServiceException"/>.</summary>
public sealed class SqsClient
{
    private const string Service = "sqs";
    private static readonly MediaTypeHeaderValue AmzJson = new("application/x-amz-json-1.0");

    private readonly HttpClient _http;

    public SqsClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    /// <returns>The queue's id of the message.</returns>
    public async Task<string> SendMessageAsync(Uri queueUrl, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queueUrl);
        ArgumentException.ThrowIfNullOrEmpty(body);
        using var request = new HttpRequestMessage(HttpMethod.Post, AwsCall.Url(_http, "/"))
        {
            Content = JsonContent.Create(new SendMessageRequest(queueUrl.ToString(), body), SqsJsonContext.Default.SendMessageRequest, AmzJson),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "AmazonSQS.SendMessage");
        using var response = await AwsCall.SendAsync(_http, request, Service, "SendMessage", null, cancellationToken);
        var sent = await response.Content.ReadFromJsonAsync(SqsJsonContext.Default.SendMessageResult, cancellationToken);
        return sent?.MessageId ?? throw new AwsServiceException($"{Service} SendMessage returned no MessageId.");
    }
}

internal sealed record SendMessageRequest(string QueueUrl, string MessageBody);

internal sealed record SendMessageResult(string? MessageId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SendMessageRequest))]
[JsonSerializable(typeof(SendMessageResult))]
internal sealed partial class SqsJsonContext : JsonSerializerContext;
