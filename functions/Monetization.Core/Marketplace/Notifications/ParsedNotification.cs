namespace Monetization.Core.Marketplace.Notifications;

/// <summary>
/// What one record of a delivery turned out to be. Parsing never throws for a bad record, so one malformed record
/// cannot take the other records of its batch down with it.
/// </summary>
public abstract record ParsedNotification
{
    private ParsedNotification(string recordId) => RecordId = recordId;

    /// <summary>SNS <c>MessageId</c> or EventBridge <c>id</c>; <c>#&lt;index&gt;</c> when the record has none.</summary>
    public string RecordId { get; }

    /// <summary>A lifecycle event to apply.</summary>
    public sealed record Event : ParsedNotification
    {
        public Event(string recordId, SubscriptionEvent value)
            : base(recordId) => Value = value;

        public SubscriptionEvent Value { get; }
    }

    /// <summary>
    /// Well-formed, but it names no buyer we can key (an agreement event without a license ARN). Retrying cannot
    /// change that, so it is acknowledged with a warning rather than failed.
    /// </summary>
    public sealed record NotApplicable : ParsedNotification
    {
        public NotApplicable(string recordId, string reason)
            : base(recordId) => Reason = reason;

        public string Reason { get; }
    }

    /// <summary>Not a notification we understand (bad JSON, missing field, unknown action). The record must fail.</summary>
    public sealed record Malformed : ParsedNotification
    {
        public Malformed(string recordId, string reason)
            : base(recordId) => Reason = reason;

        public string Reason { get; }
    }
}
