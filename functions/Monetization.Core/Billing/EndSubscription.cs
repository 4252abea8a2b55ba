using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

public enum EndSubscriptionOutcome
{
    /// <summary>The subscription is canceled with a final invoice and the key's access is withdrawn.</summary>
    Ended,

    /// <summary>The subscriber has no Stripe subscription to end.</summary>
    NotSubscribed,
}

/// <summary>
/// Ends a Stripe subscriber's subscription from our side: withdraws access and reports the key's last usage, cancels
/// the subscription at once with a final invoice for the metered usage not yet invoiced (Stripe drops that usage
/// otherwise), then records the canceled subscription. Repeating it is harmless: Stripe answers a second cancel with
/// the canceled subscription, and the usage is reported once through its claims.
/// </summary>
public sealed partial class EndSubscription(ISubscriberLedger ledger, IBilling billing, SubscriptionAccess access, ILogger<EndSubscription> logger)
{
    public async Task<EndSubscriptionOutcome> EndAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        var record = await ledger.GetAsync(subscriberId, cancellationToken);
        if (record is not { Channel: Channel.Stripe, StripeSubscriptionId: { } subscriptionId })
        {
            return EndSubscriptionOutcome.NotSubscribed;
        }

        await access.WithdrawAsync(record, cancellationToken);
        await billing.CancelSubscriptionAsync(subscriptionId, $"end-subscription:{subscriberId}:{subscriptionId}", cancellationToken);
        var subscription = await billing.GetSubscriptionAsync(subscriptionId, cancellationToken)
            ?? new BillingSubscription(subscriptionId, record.StripeCustomerId ?? string.Empty, BillingSubscriptionStatus.Canceled);
        await access.FollowAsync(record, subscription, cancellationToken);
        LogEnded(logger, subscriberId, subscriptionId);
        return EndSubscriptionOutcome.Ended;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ended subscription {SubscriptionId} of {SubscriberId} with a final invoice")]
    private static partial void LogEnded(ILogger logger, string subscriberId, string subscriptionId);
}
