using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <param name="Next">
/// The record to write: the new record when <see cref="Status"/> is <see cref="SubscriptionEventStatus.Applied"/>; for a stale or
/// duplicate event null, unless the event mends a license ARN Metering would refuse (see <see cref="LicenseArns"/>).
/// </param>
/// <param name="Status">Applied, Duplicate or Stale: the rules decide nothing else.</param>
public sealed record SubscriptionDecision(SubscriptionEventStatus Status, Subscriber? Next);

/// <summary>
/// The Marketplace state machine, pure. Access is decided only by subscribe-success (grants), subscribe-fail and
/// unsubscribe-success (revoke); the newest of those by (timestamp, precedence) wins, whatever order they arrive in.
/// unsubscribe-pending and entitlement-updated are notices: recorded, never changing access, and kept on their own
/// watermark so a notice cannot make an older grant or revocation look stale.
/// </summary>
public static class SubscriptionRules
{
    public static bool DecidesAccess(SubscriptionAction action) => action is
        SubscriptionAction.SubscribeSuccess or SubscriptionAction.SubscribeFail or SubscriptionAction.UnsubscribeSuccess;

    public static bool Grants(SubscriptionAction action) => action == SubscriptionAction.SubscribeSuccess;

    /// <summary>The subscription ends, or is about to: the buyer's usage is metered before Marketplace stops taking it.</summary>
    public static bool EndsSubscription(SubscriptionAction action) => action is
        SubscriptionAction.UnsubscribePending or SubscriptionAction.UnsubscribeSuccess or SubscriptionAction.SubscribeFail;

    /// <summary>
    /// Breaks timestamp ties. EventBridge times have one-second resolution, so ties are real; among access decisions
    /// the revoking ones win (when we cannot tell which came last, we fail closed). Two events with equal time and
    /// equal precedence have the same effect, so they need no further ordering.
    /// </summary>
    public static int Precedence(SubscriptionAction action) => action switch
    {
        SubscriptionAction.SubscribeSuccess => 1,
        SubscriptionAction.UnsubscribeSuccess => 2,
        SubscriptionAction.SubscribeFail => 3,
        SubscriptionAction.EntitlementUpdated => 1,
        SubscriptionAction.UnsubscribePending => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };

    public static SubscriptionDecision Decide(Subscriber? current, SubscriptionEvent subscriptionEvent, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(subscriptionEvent);
        var decides = DecidesAccess(subscriptionEvent.Action);
        var order = decides
            ? Compare(subscriptionEvent, current?.LastEventAt, current?.LastEvent)
            : Compare(subscriptionEvent, current?.LastNoticeAt, current?.LastNotice);
        var customer = subscriptionEvent.Customer;
        if (order <= 0)
        {
            var status = order < 0 ? SubscriptionEventStatus.Stale : SubscriptionEventStatus.Duplicate;

            // Too old to decide anything, the event still names the license: a buyer held back from metering by an ARN
            // Metering refuses must not wait for a newer event to bring the shape it takes.
            return current is not null && LicenseArns.Mends(current.LicenseArn, customer.LicenseArn)
                ? new SubscriptionDecision(status, current with { LicenseArn = customer.LicenseArn, UpdatedAt = now })
                : new SubscriptionDecision(status, null);
        }

        var baseline = current ?? new Subscriber
        {
            Id = customer.SubscriberId,
            Channel = Channel.Marketplace,
            Status = SubscriberStatus.Pending,
            CreatedAt = now,
            UpdatedAt = now,
        };
        var next = decides
            ? baseline with
            {
                Subscribed = Grants(subscriptionEvent.Action),
                LastEventAt = subscriptionEvent.Timestamp,
                LastEvent = subscriptionEvent.Action.WireName(),
            }
            : baseline with
            {
                LastNoticeAt = subscriptionEvent.Timestamp,
                LastNotice = subscriptionEvent.Action.WireName(),
            };
        next = next with
        {
            MarketplaceCustomerIdentifier = next.MarketplaceCustomerIdentifier ?? customer.CustomerIdentifier,
            CustomerAwsAccountId = next.CustomerAwsAccountId ?? customer.CustomerAwsAccountId,
            LicenseArn = LicenseArns.Keep(next.LicenseArn, customer.LicenseArn),
            ProductCode = next.ProductCode ?? subscriptionEvent.ProductCode,

            // Access ending starts the key's settling (disabled, still in the plan, until its usage is metered); access
            // granted again ends it.
            SettlingSince = next.Subscribed ? null
                : baseline is { Subscribed: true, ApiKeyId: not null } ? baseline.SettlingSince ?? now
                : baseline.SettlingSince,
            KeyDeleteAt = next.Subscribed ? null : baseline.KeyDeleteAt,
            UpdatedAt = now,
        };
        return new SubscriptionDecision(SubscriptionEventStatus.Applied, next with { Status = DeriveStatus(next) });
    }

    /// <summary>
    /// Folds what <paramref name="source"/> (the record kept under another name of the same buyer) recorded into
    /// <paramref name="target"/>, the buyer's one record: its newest access decision and its newest notice are decided
    /// as if they arrived now, so the newer of the two records' events wins, exactly as had every event come under one
    /// name. Returns the record to write, or null when the target already holds as new or newer (and its license ARN
    /// needs no mending).
    /// </summary>
    public static Subscriber? Merge(Subscriber? target, Subscriber source, MarketplaceCustomer buyer, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(buyer);
        var next = target;
        var productCode = source.ProductCode ?? target?.ProductCode ?? string.Empty;
        foreach (var (name, at) in new[] { (source.LastEvent, source.LastEventAt), (source.LastNotice, source.LastNoticeAt) })
        {
            if (at is { } timestamp && SubscriptionActions.TryParseWireName(name, out var action))
            {
                var folded = new SubscriptionEvent(action, buyer, productCode, timestamp, "merge:" + source.Id, NotificationSource.EventBridge);
                next = Decide(next, folded, now).Next ?? next;
            }
        }

        return next == target ? null : next;
    }

    /// <summary>
    /// Status is a description computed from the recorded events, so it does not depend on arrival order either.
    /// A newer unsubscribe-pending marks a subscribed buyer Suspended while access stays: Marketplace still accepts
    /// the final metering records until unsubscribe-success.
    /// </summary>
    public static SubscriberStatus DeriveStatus(Subscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        if (!SubscriptionActions.TryParseWireName(subscriber.LastEvent, out var last) || subscriber.LastEventAt is null)
        {
            return SubscriberStatus.Pending;
        }

        return last switch
        {
            SubscriptionAction.SubscribeSuccess when UnsubscribeIsPending(subscriber) => SubscriberStatus.Suspended,
            SubscriptionAction.SubscribeSuccess => SubscriberStatus.Active,
            SubscriptionAction.UnsubscribeSuccess => SubscriberStatus.Cancelled,
            SubscriptionAction.SubscribeFail => SubscriberStatus.Failed,
            _ => SubscriberStatus.Pending,
        };
    }

    private static bool UnsubscribeIsPending(Subscriber subscriber) =>
        string.Equals(subscriber.LastNotice, SubscriptionAction.UnsubscribePending.WireName(), StringComparison.Ordinal)
        && subscriber.LastNoticeAt >= subscriber.LastEventAt;

    /// <returns>Positive when the event is newer than the recorded one, zero when it is the same, negative when older.</returns>
    private static int Compare(SubscriptionEvent subscriptionEvent, DateTimeOffset? recordedAt, string? recordedName)
    {
        if (recordedAt is null)
        {
            return 1;
        }

        var byTime = subscriptionEvent.Timestamp.UtcTicks.CompareTo(recordedAt.Value.UtcTicks);
        if (byTime != 0)
        {
            return byTime;
        }

        var recordedPrecedence = SubscriptionActions.TryParseWireName(recordedName, out var recorded) ? Precedence(recorded) : 0;
        return Precedence(subscriptionEvent.Action).CompareTo(recordedPrecedence);
    }
}
