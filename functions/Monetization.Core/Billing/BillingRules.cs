using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

public enum AccessChange
{
    /// <summary>Access stays as it is.</summary>
    Keep,

    /// <summary>The key is enabled and in the Stripe usage plan.</summary>
    Grant,

    /// <summary>The key is disabled; it leaves the Stripe usage plan once its usage has settled.</summary>
    Revoke,
}

/// <param name="Next">The record as it should be stored, or null when it stays as it is.</param>
public sealed record BillingDecision(AccessChange Access, Subscriber? Next);

public sealed record BillingOptions
{
    /// <summary>How long a past-due subscription keeps its access: Stripe retries the payment meanwhile.</summary>
    public TimeSpan PastDueGrace { get; init; } = TimeSpan.FromDays(3);
}

/// <summary>
/// What a subscriber's access should be, given the subscription's status as Stripe reports it now. A pure decision over
/// (record, subscription, now): it never trusts the order in which events arrived, only the state fetched for them.
/// </summary>
public static class BillingRules
{
    public static BillingDecision Decide(Subscriber record, BillingSubscription subscription, DateTimeOffset now, TimeSpan pastDueGrace)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(subscription);
        if (record.StripeSubscriptionId is { } known && !string.Equals(known, subscription.Id, StringComparison.Ordinal))
        {
            // Another subscription than the subscriber's own (one started by hand in the dashboard, say) decides nothing.
            return new BillingDecision(AccessChange.Keep, null);
        }

        var (access, status, pastDueSince) = subscription.Status switch
        {
            // We ended it ourselves: access stays withdrawn while the key's usage settles and the subscription is canceled.
            BillingSubscriptionStatus.Active or BillingSubscriptionStatus.Trialing or BillingSubscriptionStatus.PastDue when record.EndRequestedAt is not null
                => (AccessChange.Revoke, record.Status, record.PastDueSince),
            BillingSubscriptionStatus.Active or BillingSubscriptionStatus.Trialing => (AccessChange.Grant, SubscriberStatus.Active, (DateTimeOffset?)null),
            BillingSubscriptionStatus.PastDue => PastDue(record, now, pastDueGrace),
            BillingSubscriptionStatus.Unpaid or BillingSubscriptionStatus.Paused => (AccessChange.Revoke, SubscriberStatus.Suspended, record.PastDueSince),
            BillingSubscriptionStatus.Canceled or BillingSubscriptionStatus.IncompleteExpired => (AccessChange.Revoke, SubscriberStatus.Cancelled, record.PastDueSince),

            // An incomplete first payment, or a state Stripe adds later: no reason to grant, none to take away.
            _ => (AccessChange.Keep, record.Status, record.PastDueSince),
        };

        var next = record with
        {
            Status = status,
            StripeSubscriptionId = subscription.Id,
            Subscribed = access switch { AccessChange.Grant => true, AccessChange.Revoke => false, _ => record.Subscribed },
            Registered = true,
            PastDueSince = pastDueSince,

            // Access ending starts the key's settling; access granted again ends it (the key stays in its plan either way).
            SettlingSince = access switch
            {
                AccessChange.Grant => null,
                AccessChange.Revoke when record.Subscribed && record.ApiKeyId is not null => record.SettlingSince ?? now,
                _ => record.SettlingSince,
            },
            KeyDeleteAt = access == AccessChange.Grant ? null : record.KeyDeleteAt,
            LastEvent = $"stripe:{subscription.Status}",
            LastEventAt = now,
            UpdatedAt = now,
        };
        var unchanged = next with { LastEventAt = record.LastEventAt, UpdatedAt = record.UpdatedAt } == record;
        return new BillingDecision(access, unchanged ? null : next);
    }

    /// <summary>
    /// The first past-due sighting starts the grace period; access ends at the first sighting after it ran out. Stripe
    /// keeps sending events while it retries the payment (<c>invoice.payment_failed</c> per attempt,
    /// <c>customer.subscription.updated</c> when the status moves), and each one is such a sighting.
    /// </summary>
    private static (AccessChange, SubscriberStatus, DateTimeOffset?) PastDue(Subscriber record, DateTimeOffset now, TimeSpan grace)
    {
        var since = record.PastDueSince ?? now;
        return now - since >= grace
            ? (AccessChange.Revoke, SubscriberStatus.Suspended, since)
            : (AccessChange.Keep, record.Status, since);
    }
}
