using System.Text.Json;
using System.Text.Json.Serialization;
using Monetization.Core.ApiKeys;

namespace Monetization.Aws.Queues;

/// <summary>The <c>KeyMinting</c> settings: where first keys are asked for.</summary>
public sealed class KeyMintingSettings
{
    public const string Section = "KeyMinting";

    public const string QueueUrlRequired = "KeyMinting:QueueUrl is required: the absolute URL of the SQS queue the key minting consumer drains (the template's KeyMintQueue).";

    /// <summary>The key minting queue's URL (the template's KeyMintQueue).</summary>
    public Uri? QueueUrl { get; set; }
}

/// <summary><see cref="IKeyMintQueue"/> on SQS; the message is <see cref="KeyMintMessage"/>'s JSON (a subscriber id and a time, nothing secret).</summary>
public sealed class SqsKeyMintQueue(SqsClient sqs, KeyMintingSettings settings) : IKeyMintQueue
{
    public Task RequestAsync(KeyMintRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return sqs.SendMessageAsync(settings.QueueUrl!, KeyMintMessage.Write(request), cancellationToken);
    }
}

/// <summary>The key minting queue's message body.</summary>
public static class KeyMintMessage
{
    public static string Write(KeyMintRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return JsonSerializer.Serialize(new KeyMintBody(request.SubscriberId, request.RequestedAt), KeyMintJsonContext.Default.KeyMintBody);
    }

    /// <returns>The request, or null when the body is not one (a message nobody of ours sent).</returns>
    public static KeyMintRequest? Read(string body)
    {
        try
        {
            return JsonSerializer.Deserialize(body, KeyMintJsonContext.Default.KeyMintBody) is { SubscriberId: { Length: > 0 } id, RequestedAt: var at }
                ? new KeyMintRequest(id, at)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

internal sealed record KeyMintBody(string? SubscriberId, DateTimeOffset RequestedAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(KeyMintBody))]
internal sealed partial class KeyMintJsonContext : JsonSerializerContext;
