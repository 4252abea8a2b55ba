using Microsoft.Extensions.Logging;

namespace Monetization.Core.Marketplace.Notifications;

public sealed record NotificationResult(string RecordId, SubscriptionEventStatus Status, string? Reason);

/// <summary>
/// Applies every record of one delivery, each on its own: a malformed or failing record is reported as
/// <see cref="SubscriptionEventStatus.Failed"/> after the others have been applied. The host fails the invocation when any
/// record failed; the records that succeeded are idempotent, so the retry repeats them harmlessly.
/// </summary>
public sealed partial class HandleSubscriptionNotifications(
    ApplySubscriptionEvent applySubscriptionEvent,
    ILogger<HandleSubscriptionNotifications> logger)
{
    public async Task<IReadOnlyList<NotificationResult>> ExecuteAsync(
        IReadOnlyList<ParsedNotification> notifications, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notifications);
        var results = new List<NotificationResult>(notifications.Count);
        foreach (var notification in notifications)
        {
            results.Add(await HandleAsync(notification, cancellationToken));
        }

        return results;
    }

    private async Task<NotificationResult> HandleAsync(ParsedNotification notification, CancellationToken cancellationToken)
    {
        switch (notification)
        {
            case ParsedNotification.Malformed malformed:
                LogMalformed(malformed.RecordId, malformed.Reason);
                return new NotificationResult(malformed.RecordId, SubscriptionEventStatus.Failed, malformed.Reason);
            case ParsedNotification.NotApplicable notApplicable:
                LogNotApplicable(notApplicable.RecordId, notApplicable.Reason);
                return new NotificationResult(notApplicable.RecordId, SubscriptionEventStatus.Ignored, notApplicable.Reason);
        }

        var subscriptionEvent = ((ParsedNotification.Event)notification).Value;
        try
        {
            var result = await applySubscriptionEvent.ExecuteAsync(subscriptionEvent, cancellationToken);
            return new NotificationResult(notification.RecordId, result.Status, result.Reason);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A fault in one record must not stop the rest of the batch; the failure still fails the delivery.
            LogFailed(ex, notification.RecordId);
            return new NotificationResult(notification.RecordId, SubscriptionEventStatus.Failed, ex.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Marketplace notification {RecordId} is malformed: {Reason}")]
    private partial void LogMalformed(string recordId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace notification {RecordId} ignored: {Reason}")]
    private partial void LogNotApplicable(string recordId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Marketplace notification {RecordId} failed")]
    private partial void LogFailed(Exception exception, string recordId);
}
