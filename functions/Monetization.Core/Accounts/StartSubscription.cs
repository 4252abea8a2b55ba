using Microsoft.Extensions.Logging;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Core.Accounts;

/// <summary>How a Stripe subscriber pays. Neither way starts a subscription that charges a card nobody entered.</summary>
public enum PaymentCollection
{
    /// <summary>The key works once the subscriber has entered a payment method in a Stripe Checkout.</summary>
    Checkout,

    /// <summary>The key works at once; Stripe e-mails an invoice each period, payable within the configured days.</summary>
    Invoice,
}

public sealed record SubscriptionOptions
{
    public PaymentCollection PaymentCollection { get; init; } = PaymentCollection.Checkout;

    /// <summary>With <see cref="PaymentCollection.Invoice"/>: the days a subscriber has to pay each invoice.</summary>
    public int InvoiceDaysUntilDue { get; init; } = 30;
}

/// <param name="SuccessUrl">Carries <see cref="NewCheckout.CheckoutSessionIdPlaceholder"/>, so the return names the checkout it completes.</param>
public sealed record CheckoutReturn(string SuccessUrl, string CancelUrl);

public abstract record SubscribeOutcome
{
    private SubscribeOutcome()
    {
    }

    /// <summary>The subscriber pays here (a new checkout, or the one still open); the key is minted once it is paid.</summary>
    public sealed record Checkout(Uri Url) : SubscribeOutcome;

    /// <summary>Access started: the subscription is active and the key works (its value waits on the account page).</summary>
    public sealed record Started : SubscribeOutcome;

    /// <summary>The subscription still runs (paid, or past due and waiting for a card): nothing to start.</summary>
    public sealed record AlreadySubscribed : SubscribeOutcome;

    /// <summary>The subscriber ended the subscription and its final invoice is still to come: subscribe again after it.</summary>
    public sealed record Ending : SubscribeOutcome;

    /// <summary>A Marketplace buyer: AWS Marketplace bills them, so there is nothing to start at Stripe.</summary>
    public sealed record BilledElsewhere : SubscribeOutcome;
}

/// <summary>
/// A signed-in Stripe subscriber starts a subscription, the first or one after the last ended. The Stripe customer is
/// created on the first start (one per subscriber: its idempotency key is the subscriber id) and recorded. With
/// Checkout the subscriber pays on Stripe's page and <see cref="ActivateSubscription"/> grants access when it is paid;
/// with invoices the subscription starts now and access with it. Every Stripe object's idempotency key is derived from
/// the ledger, so a retry after a failure anywhere replays what the lost attempt created.
/// </summary>
public sealed partial class StartSubscription(
    ISubscriberLedger ledger,
    IBilling billing,
    ActivateSubscription activation,
    SubscriptionAccess access,
    SubscriptionOptions options,
    TimeProvider clock,
    ILogger<StartSubscription> logger)
{
    public async Task<SubscribeOutcome> StartAsync(string subscriberId, CheckoutReturn checkoutReturn, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        ArgumentNullException.ThrowIfNull(checkoutReturn);
        if (await ledger.GetAsync(subscriberId, cancellationToken) is not { Channel: Channel.Stripe } record)
        {
            return new SubscribeOutcome.BilledElsewhere();
        }

        if (record.EndRequestedAt is not null && record.Status != SubscriberStatus.Cancelled)
        {
            return new SubscribeOutcome.Ending();
        }

        if (record.StripeSubscriptionId is not null && record.Status is SubscriberStatus.Active or SubscriberStatus.Suspended)
        {
            return new SubscribeOutcome.AlreadySubscribed();
        }

        var customerId = await EnsureCustomerAsync(record, cancellationToken);
        record = record with { StripeCustomerId = customerId };
        return options.PaymentCollection == PaymentCollection.Checkout
            ? await CheckoutAsync(record, customerId, checkoutReturn, cancellationToken)
            : await SubscribeByInvoiceAsync(record, customerId, cancellationToken);
    }

    private async Task<SubscribeOutcome> CheckoutAsync(Subscriber record, string customerId, CheckoutReturn checkoutReturn, CancellationToken cancellationToken)
    {
        // The checkouts of this subscriber, but not the one that started the subscription that ended.
        var earlier = (await billing.ListCheckoutsAsync(customerId, cancellationToken))
            .Where(c => string.Equals(c.SubscriberId, record.Id, StringComparison.Ordinal))
            .ToList();
        var ended = record.Status == SubscriberStatus.Cancelled ? record.StripeSubscriptionId : null;
        var paid = earlier.FirstOrDefault(c => c.Status == BillingCheckoutStatus.Complete && c.SubscriptionId is { } s && !string.Equals(s, ended, StringComparison.Ordinal));
        if (paid is not null)
        {
            // Paid, and the return and the webhook were both lost: apply it now.
            await activation.ActivateAsync(paid.Id, cancellationToken);
            return new SubscribeOutcome.Started();
        }

        // The count of checkouts seen makes the key: a retry replays the checkout a lost answer opened, and one opened
        // after the last expired (or after a subscription ended) is a new one.
        var checkout = earlier.FirstOrDefault(c => c.Status == BillingCheckoutStatus.Open && c.Url is not null)
            ?? await billing.StartCheckoutAsync(
                new NewCheckout(customerId, record.Id, checkoutReturn.SuccessUrl, checkoutReturn.CancelUrl),
                $"checkout:{record.Id}:{customerId}:{earlier.Count}",
                cancellationToken);
        LogCheckout(logger, record.Id, checkout.Id);
        return new SubscribeOutcome.Checkout(checkout.Url!);
    }

    private async Task<SubscribeOutcome> SubscribeByInvoiceAsync(Subscriber record, string customerId, CancellationToken cancellationToken)
    {
        var ended = record.Status == SubscriberStatus.Cancelled ? record.StripeSubscriptionId : null;
        var subscription = record.StripeSubscriptionId is { } running && ended is null
            ? await billing.GetSubscriptionAsync(running, cancellationToken)
                ?? throw new InvalidOperationException($"Subscription {running} of {record.Id} is unknown to Stripe.")
            : await billing.SubscribeByInvoiceAsync(customerId, options.InvoiceDaysUntilDue, $"subscription:{record.Id}:{customerId}:{ended ?? "first"}", cancellationToken);

        // Before the record names it, so webhooks about the subscription always find their subscriber.
        await ledger.AddStripeSubscriptionAsync(subscription.Id, record.Id, cancellationToken);
        var adopted = await access.AdoptAsync(record, subscription.Id, cancellationToken);
        var change = await access.FollowAsync(adopted, subscription, cancellationToken);
        LogInvoiceSubscription(logger, record.Id, subscription.Id, change);
        return change == AccessChange.Grant ? new SubscribeOutcome.Started() : new SubscribeOutcome.AlreadySubscribed();
    }

    /// <summary>The recorded customer, else one created with the subscriber's address and names, and recorded.</summary>
    private async Task<string> EnsureCustomerAsync(Subscriber record, CancellationToken cancellationToken)
    {
        if (record.StripeCustomerId is { } known)
        {
            return known;
        }

        var customerId = await billing.CreateCustomerAsync(
            new NewBillingCustomer(
                record.Email ?? throw new InvalidOperationException($"Subscriber {record.Id} has no address."),
                $"{record.FirstName} {record.LastName}",
                new Dictionary<string, string>(StringComparer.Ordinal) { ["subscriberId"] = record.Id }),
            $"customer:{record.Id}",
            cancellationToken);
        var now = clock.GetUtcNow();
        await ledger.UpdateAsync(
            record.Id,
            current => current is { StripeCustomerId: null } ? current with { StripeCustomerId = customerId, UpdatedAt = now } : null,
            new KnownRecord(record),
            cancellationToken);
        LogCustomer(logger, record.Id, customerId);
        return customerId;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created Stripe customer {StripeCustomerId} for {SubscriberId}")]
    private static partial void LogCustomer(ILogger logger, string subscriberId, string stripeCustomerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Checkout {CheckoutId} waits for {SubscriberId} to pay")]
    private static partial void LogCheckout(ILogger logger, string subscriberId, string checkoutId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscriber {SubscriberId} subscribed by invoice ({SubscriptionId}): access {Change}")]
    private static partial void LogInvoiceSubscription(ILogger logger, string subscriberId, string subscriptionId, AccessChange change);
}
