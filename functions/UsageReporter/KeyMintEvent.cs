using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Monetization.Aws.Queues;
using Monetization.Core.ApiKeys;

namespace Monetization.UsageReporter;

/// <summary>
/// The key minting queue's Lambda event (<c>{"Records":[{"messageId","body","attributes":{"ApproximateReceiveCount"},
/// "eventSource":"aws:sqs",...}]}</c>) and the partial batch answer the event source mapping reads with
/// <c>ReportBatchItemFailures</c> (<c>{"batchItemFailures":[{"itemIdentifier":"&lt;messageId&gt;"}]}</c>): only the
/// messages named there are delivered again.
/// </summary>
public static class KeyMintEvent
{
    /// <summary>The event's requests, or null when the payload is not an SQS event (a schedule's, say).</summary>
    /// <param name="unreadable">Messages whose body is not a request: done (delivering them again cannot help).</param>
    public static IReadOnlyList<QueuedKeyMint>? Read(ReadOnlySpan<byte> payload, out IReadOnlyList<string> unreadable)
    {
        unreadable = [];
        SqsEvent? sqs;
        try
        {
            sqs = JsonSerializer.Deserialize(payload, KeyMintEventJsonContext.Default.SqsEvent);
        }
        catch (JsonException)
        {
            return null;
        }

        if (sqs?.Records is not { Count: > 0 } records || records.Any(r => !string.Equals(r.EventSource, "aws:sqs", StringComparison.Ordinal)))
        {
            return null;
        }

        var requests = new List<QueuedKeyMint>();
        var bad = new List<string>();
        foreach (var record in records)
        {
            if (record.MessageId is not { Length: > 0 } id)
            {
                continue;
            }

            if (record.Body is { } body && KeyMintMessage.Read(body) is { } request)
            {
                var deliveries = int.TryParse(record.Attributes?.GetValueOrDefault("ApproximateReceiveCount"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 1;
                requests.Add(new QueuedKeyMint(id, request, deliveries));
            }
            else
            {
                bad.Add(id);
            }
        }

        unreadable = bad;
        return requests;
    }

    /// <summary>The batch's metrics: keys made, and subscribers whose key waits at the ceiling (the stack alarms on those).</summary>
    public static string EmbeddedMetrics(MintOutcome outcome, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return UsageReportOutput.Emf([("KeysMinted", outcome.Minted), ("KeysRefusedAtCeiling", outcome.RefusedAtCeiling)], at);
    }

    public static Stream Answer(IReadOnlyList<string> failedMessageIds)
    {
        ArgumentNullException.ThrowIfNull(failedMessageIds);
        var answer = new BatchResponse([.. failedMessageIds.Select(id => new BatchItemFailure(id))]);
        return new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(answer, KeyMintEventJsonContext.Default.BatchResponse)), writable: false);
    }
}

internal sealed record SqsEvent(IReadOnlyList<SqsRecord>? Records);

internal sealed record SqsRecord(
    [property: JsonPropertyName("messageId")] string? MessageId,
    [property: JsonPropertyName("body")] string? Body,
    [property: JsonPropertyName("attributes")] IReadOnlyDictionary<string, string>? Attributes,
    [property: JsonPropertyName("eventSource")] string? EventSource);

internal sealed record BatchResponse([property: JsonPropertyName("batchItemFailures")] IReadOnlyList<BatchItemFailure> BatchItemFailures);

internal sealed record BatchItemFailure([property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);

[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(BatchResponse))]
internal sealed partial class KeyMintEventJsonContext : JsonSerializerContext;
