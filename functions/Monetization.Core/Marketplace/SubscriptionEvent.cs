namespace Monetization.Core.Marketplace;

/// <summary>The Marketplace subscription lifecycle, named after the SNS <c>action</c> values.</summary>
public enum SubscriptionAction
{
    SubscribeSuccess,
    SubscribeFail,
    UnsubscribePending,
    UnsubscribeSuccess,
    EntitlementUpdated,
}

public enum NotificationSource
{
    Sns,
    EventBridge,
}

/// <summary>
/// One lifecycle event from either feed. <see cref="Timestamp"/> is when Marketplace published it (SNS
/// <c>Sns.Timestamp</c>, EventBridge envelope <c>time</c>); ordering decisions use it, never the arrival order.
/// </summary>
public sealed record SubscriptionEvent(
    SubscriptionAction Action,
    MarketplaceCustomer Customer,
    string ProductCode,
    DateTimeOffset Timestamp,
    string EventId,
    NotificationSource Source,
    string? OfferIdentifier = null);

public static class SubscriptionActions
{
    /// <summary>The SNS wire name, also what the ledger records in <c>LastEvent</c> / <c>LastNotice</c>.</summary>
    public static string WireName(this SubscriptionAction action) => action switch
    {
        SubscriptionAction.SubscribeSuccess => "subscribe-success",
        SubscriptionAction.SubscribeFail => "subscribe-fail",
        SubscriptionAction.UnsubscribePending => "unsubscribe-pending",
        SubscriptionAction.UnsubscribeSuccess => "unsubscribe-success",
        SubscriptionAction.EntitlementUpdated => "entitlement-updated",
        _ => throw new ArgumentOutOfRangeException(nameof(action), action, null),
    };

    public static bool TryParseWireName(string? name, out SubscriptionAction action)
    {
        foreach (var candidate in Enum.GetValues<SubscriptionAction>())
        {
            if (string.Equals(candidate.WireName(), name, StringComparison.Ordinal))
            {
                action = candidate;
                return true;
            }
        }

        action = default;
        return false;
    }
}
