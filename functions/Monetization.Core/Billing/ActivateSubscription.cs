using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

public abstract record ActivationOutcome
{
    private ActivationOutcome()
    {
    }

    /// <summary>The subscription is paid up and the subscriber's key works.</summary>
    public sealed record Active(string SubscriberId) : ActivationOutcome;

    /// <summary>The checkout is complete but the subscription it started does not grant access now (canceled since, say).</summary>
    public sealed record NotActive(string SubscriberId, BillingSubscriptionStatus Status) : ActivationOutcome;

    /// <summary>The checkout has not been paid: still open, or expired.</summary>
    public sealed record NotPaid(string? SubscriberId, BillingCheckoutStatus Status) : ActivationOutcome;

    /// <summary>No such checkout, or none that belongs to a subscriber this system registered.</summary>
    public sealed record Unknown : ActivationOutcome;
}

/// <summary>
/// Turns a paid checkout into access. Reached both from the customer's return to the Portal and from Stripe's
/// <c>checkout.session.completed</c> webhook, whichever comes first; the second finds the work done. Nothing from the
/// caller is trusted but the checkout's id: the checkout is read from Stripe, must be complete, and must name a
/// subscriber whose Stripe customer it was opened for. The subscription it started is recorded (with its
/// <c>STRIPESUB#</c> pointer, so webhooks find the subscriber) and its current status decides access; a subscriber
/// whose last subscription ended adopts it (subscribing again).
/// </summary>
public sealed partial class ActivateSubscription(
    ISubscriberLedger ledger,
    IBilling billing,
    SubscriptionAccess access,
    ILogger<ActivateSubscription> logger)
{
    public async Task<ActivationOutcome> ActivateAsync(string checkoutId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkoutId);
        var checkout = await billing.GetCheckoutAsync(checkoutId, cancellationToken);
        if (checkout is null)
        {
            return new ActivationOutcome.Unknown();
        }

        if (checkout.Status != BillingCheckoutStatus.Complete || checkout.SubscriptionId is not { } subscriptionId)
        {
            return new ActivationOutcome.NotPaid(checkout.SubscriberId, checkout.Status);
        }

        var record = checkout.SubscriberId is { Length: > 0 } subscriberId ? await ledger.GetAsync(subscriberId, cancellationToken) : null;
        if (record is null || record.Channel != Channel.Stripe || !string.Equals(record.StripeCustomerId, checkout.CustomerId, StringComparison.Ordinal))
        {
            LogForeignCheckout(logger, checkout.Id);
            return new ActivationOutcome.Unknown();
        }

        var owner = await ledger.AddStripeSubscriptionAsync(subscriptionId, record.Id, cancellationToken);
        if (!string.Equals(owner, record.Id, StringComparison.Ordinal))
        {
            LogForeignCheckout(logger, checkout.Id);
            return new ActivationOutcome.Unknown();
        }

        var subscription = await billing.GetSubscriptionAsync(subscriptionId, cancellationToken);
        if (subscription is null)
        {
            return new ActivationOutcome.Unknown();
        }

        record = await access.AdoptAsync(record, subscriptionId, cancellationToken);
        if (record.StripeSubscriptionId is { } existing && !string.Equals(existing, subscriptionId, StringComparison.Ordinal))
        {
            // A second paid checkout (two tabs, say): the first subscription stays the subscriber's own.
            LogSecondSubscription(logger, record.Id, subscriptionId, existing);
            return new ActivationOutcome.Active(record.Id);
        }

        var change = await access.FollowAsync(record, subscription, cancellationToken);
        LogActivated(logger, record.Id, subscriptionId, subscription.Status, change);
        return change == AccessChange.Grant
            ? new ActivationOutcome.Active(record.Id)
            : new ActivationOutcome.NotActive(record.Id, subscription.Status);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checkout {CheckoutId} is not one this system opened for a registered subscriber; ignored")]
    private static partial void LogForeignCheckout(ILogger logger, string checkoutId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscriber {SubscriberId} paid a second checkout, which started subscription {SubscriptionId}; the subscriber's subscription stays {ExistingSubscriptionId}")]
    private static partial void LogSecondSubscription(ILogger logger, string subscriberId, string subscriptionId, string existingSubscriptionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkout of {SubscriberId} started subscription {SubscriptionId}, now {Status}: access {Change}")]
    private static partial void LogActivated(ILogger logger, string subscriberId, string subscriptionId, BillingSubscriptionStatus status, AccessChange change);
}
