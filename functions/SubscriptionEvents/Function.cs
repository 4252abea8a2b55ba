using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Monetization.Core.Marketplace;
using Monetization.Core.Marketplace.Notifications;

namespace Monetization.SubscriptionEvents;

/// <summary>
/// The function behind <c>Handler: SubscriptionEvents</c>: AWS Marketplace subscription notifications from SNS
/// (<c>aws-mp-subscription-notification-&lt;productCode&gt;</c>) and EventBridge (<c>aws.agreement-marketplace</c>).
/// <see cref="Program"/> hosts it on the Lambda Runtime API; tests and the offline sandbox call it in process.
/// </summary>
/// <remarks>
/// Every record is applied on its own; when any record failed the invocation throws after the others were applied,
/// so Lambda retries the delivery (the applied records are idempotent) and finally sends it to the dead-letter target.
/// </remarks>
public sealed partial class Function(HandleSubscriptionNotifications handle, ILogger<Function> logger)
{
    private readonly HandleSubscriptionNotifications _handle = handle ?? throw new ArgumentNullException(nameof(handle));
    private readonly ILogger<Function> _logger = logger ?? throw new ArgumentNullException(nameof(logger));

    /// <exception cref="SubscriptionDeliveryFailedException">At least one record failed; the others were applied.</exception>
    public async Task<Stream> ProcessAsync(Stream input, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var buffer = new MemoryStream();
        await input.CopyToAsync(buffer, cancellationToken);
        var notifications = SubscriptionNotificationParser.Parse(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        var results = await _handle.ExecuteAsync(notifications, cancellationToken);
        foreach (var result in results)
        {
            LogRecord(result.RecordId, result.Status, result.Reason);
        }

        var summary = Summarize(results);
        LogSummary(summary.Records, summary.Applied, summary.Duplicate, summary.Stale, summary.Ignored, summary.Failed);
        if (summary.Failed > 0)
        {
            throw new SubscriptionDeliveryFailedException(results.Where(r => r.Status == SubscriptionEventStatus.Failed).ToList(), results.Count);
        }

        return new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(summary, SummaryJsonContext.Default.DeliverySummary), writable: false);
    }

    private static DeliverySummary Summarize(IReadOnlyList<NotificationResult> results) => new(
        results.Count,
        results.Count(r => r.Status == SubscriptionEventStatus.Applied),
        results.Count(r => r.Status == SubscriptionEventStatus.Duplicate),
        results.Count(r => r.Status == SubscriptionEventStatus.Stale),
        results.Count(r => r.Status == SubscriptionEventStatus.Ignored),
        results.Count(r => r.Status == SubscriptionEventStatus.Failed),
        [.. results.Select(r => new RecordSummary(r.RecordId, r.Status.ToString(), r.Reason))]);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace notification {RecordId}: {Status} {Reason}")]
    private partial void LogRecord(string recordId, SubscriptionEventStatus status, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivery of {Records} records: {Applied} applied, {Duplicate} duplicate, {Stale} stale, {Ignored} ignored, {Failed} failed")]
    private partial void LogSummary(int records, int applied, int duplicate, int stale, int ignored, int failed);
}

/// <summary>What the function answers for a delivery whose records were all applied or acknowledged.</summary>
public sealed record DeliverySummary(
    [property: JsonPropertyName("records")] int Records,
    [property: JsonPropertyName("applied")] int Applied,
    [property: JsonPropertyName("duplicate")] int Duplicate,
    [property: JsonPropertyName("stale")] int Stale,
    [property: JsonPropertyName("ignored")] int Ignored,
    [property: JsonPropertyName("failed")] int Failed,
    [property: JsonPropertyName("results")] IReadOnlyList<RecordSummary> Results);

public sealed record RecordSummary(
    [property: JsonPropertyName("recordId")] string RecordId,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reason")] string? Reason);

/// <summary>Fails the invocation so Lambda retries the delivery and finally dead-letters it.</summary>
public sealed class SubscriptionDeliveryFailedException : Exception
{
    public SubscriptionDeliveryFailedException(IReadOnlyList<NotificationResult> failed, int records)
        : base($"{failed?.Count} of {records} Marketplace notification records failed: "
            + string.Join("; ", (failed ?? []).Select(f => $"{f.RecordId} ({f.Reason})")))
    {
        Failed = failed ?? [];
    }

    public IReadOnlyList<NotificationResult> Failed { get; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeliverySummary))]
internal sealed partial class SummaryJsonContext : JsonSerializerContext;
