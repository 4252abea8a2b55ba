using System.Text;
using Microsoft.Extensions.Logging;
using Monetization.Core.Idempotency;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

/// <summary>A verified Stripe event, as far as access needs it.</summary>
/// <param name="ObjectId">The id of the event's object: the checkout session, subscription or invoice.</param>
/// <param name="SubscriptionId">The subscription the object is or belongs to, when it names one.</param>
public sealed record BillingEvent(string Id, string Type, string? ObjectId, string? SubscriptionId, string? CustomerId);

public enum BillingEventOutcome
{
    /// <summary>The event was applied: access now follows the subscription's current status.</summary>
    Applied,

    /// <summary>This event was applied before; nothing ran again.</summary>
    Duplicate,

    /// <summary>Another delivery of this event is being applied right now; the sender should try again later.</summary>
    InProgress,

    /// <summary>An event type that does not touch access.</summary>
    Ignored,

    /// <summary>The event names no subscriber (or subscription) this system knows; it is recorded and otherwise ignored.</summary>
    Unknown,
}

/// <summary>
/// Stripe's webhooks, applied once each. Delivery is at least once and unordered, so an event is only a hint: the
/// subscription's status is fetched from Stripe and decides access (<see cref="BillingRules"/>). A paid checkout
/// activates the subscriber (<see cref="ActivateSubscription"/>); subscription and invoice events find the subscriber
/// by the subscription's ledger pointer, else by the customer's <c>subscriberId</c> metadata. Each event id is claimed
/// in the ledger, completed with its outcome (which also records events for unknown subscribers) and released when
/// applying it failed, so Stripe's retry runs it again.
/// </summary>
public sealed partial class ApplyBillingEvent(
    IdempotentExecutor executor,
    ISubscriberLedger ledger,
    IBilling billing,
    ActivateSubscription activation,
    SubscriptionAccess access,
    ILogger<ApplyBillingEvent> logger)
{
    public async Task<BillingEventOutcome> ApplyAsync(BillingEvent billingEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(billingEvent);
        if (!Touches(billingEvent.Type))
        {
            return BillingEventOutcome.Ignored;
        }

        var outcome = await executor.ExecuteAsync(
            $"stripe-event#{billingEvent.Id}",
            Encoding.UTF8.GetBytes($"{billingEvent.Id}\n{billingEvent.Type}"),
            ct => ApplyOnceAsync(billingEvent, ct),
            cancellationToken);
        return outcome switch
        {
            IdempotencyOutcome.Executed<BillingEventOutcome> executed => executed.Result,
            IdempotencyOutcome.Replayed => BillingEventOutcome.Duplicate,
            IdempotencyOutcome.InProgress => BillingEventOutcome.InProgress,

            // The same event id with another type: not Stripe's doing, and nothing to apply.
            IdempotencyOutcome.PayloadMismatch => BillingEventOutcome.Unknown,
            _ => throw new InvalidOperationException($"Unknown idempotency outcome {outcome.GetType().Name}."),
        };
    }

    private static bool Touches(string type) =>
        type == "checkout.session.completed"
        || type.StartsWith("customer.subscription.", StringComparison.Ordinal)
        || type.StartsWith("invoice.", StringComparison.Ordinal);

    private async Task<BillingEventOutcome> ApplyOnceAsync(BillingEvent billingEvent, CancellationToken cancellationToken)
    {
        if (billingEvent.Type == "checkout.session.completed")
        {
            var activated = billingEvent.ObjectId is { } checkoutId
                ? await activation.ActivateAsync(checkoutId, cancellationToken)
                : new ActivationOutcome.Unknown();
            return Logged(billingEvent, activated is ActivationOutcome.Unknown ? BillingEventOutcome.Unknown : BillingEventOutcome.Applied);
        }

        if (billingEvent.SubscriptionId is not { } subscriptionId)
        {
            return Logged(billingEvent, BillingEventOutcome.Ignored);
        }

        var subscription = await billing.GetSubscriptionAsync(subscriptionId, cancellationToken);
        var record = subscription is null ? null : await FindSubscriberAsync(subscription, cancellationToken);
        if (subscription is null || record is null)
        {
            return Logged(billingEvent, BillingEventOutcome.Unknown);
        }

        await access.FollowAsync(record, subscription, cancellationToken);
        return Logged(billingEvent, BillingEventOutcome.Applied);
    }

    /// <summary>
    /// By the pointer written when the subscription was recorded; else, for a subscription whose checkout has not been
    /// applied yet, by the customer's metadata, adopting the subscription when the record has none. A registration
    /// that has not handed out its key yet is left to finish (or withdraw) on its own: an event granting access under
    /// it would outlive a registration that then fails, and leave a key nobody was shown.
    /// </summary>
    private async Task<Subscriber?> FindSubscriberAsync(BillingSubscription subscription, CancellationToken cancellationToken)
    {
        if (await ledger.FindStripeSubscriptionAsync(subscription.Id, cancellationToken) is { } pointed)
        {
            return await ledger.GetAsync(pointed, cancellationToken) is { Registered: true } found ? found : null;
        }

        if (await billing.GetCustomerSubscriberIdAsync(subscription.CustomerId, cancellationToken) is not { } subscriberId
            || await ledger.GetAsync(subscriberId, cancellationToken) is not { Registered: true } record
            || !string.Equals(record.StripeCustomerId, subscription.CustomerId, StringComparison.Ordinal))
        {
            return null;
        }

        if (record.StripeSubscriptionId is null
            && await ledger.AddStripeSubscriptionAsync(subscription.Id, record.Id, cancellationToken) != record.Id)
        {
            return null;
        }

        return record;
    }

    private BillingEventOutcome Logged(BillingEvent billingEvent, BillingEventOutcome outcome)
    {
        LogApplied(logger, billingEvent.Id, billingEvent.Type, billingEvent.SubscriptionId, outcome);
        return outcome;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stripe event {EventId} ({EventType}) for subscription {SubscriptionId}: {Outcome}")]
    private static partial void LogApplied(ILogger logger, string eventId, string eventType, string? subscriptionId, BillingEventOutcome outcome);
}
