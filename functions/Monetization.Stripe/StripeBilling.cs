using System.Net;
using Microsoft.Extensions.Options;
using Monetization.Core.Billing;
using Stripe;
using Checkout = Stripe.Checkout;

namespace Monetization.Stripe;

/// <summary>
/// The billing port on Stripe.net's services: customers, one metered subscription each (started by a hosted Checkout or
/// billed by e-mailed invoice). Every POST carries the caller's ledger-derived idempotency key.
/// </summary>
public sealed class StripeBilling : IBilling
{
    private readonly StripeClient _stripe;
    private readonly StripeOptions _options;

    public StripeBilling(StripeClient stripe, IOptions<StripeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(stripe);
        ArgumentNullException.ThrowIfNull(options);
        _stripe = stripe;
        _options = options.Value;
    }

    public async Task<string> CreateCustomerAsync(NewBillingCustomer customer, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var created = await _stripe.V1.Customers.CreateAsync(
            new CustomerCreateOptions { Email = customer.Email, Name = customer.Name, Metadata = new(customer.Metadata) },
            StripeRequests.Idempotent(idempotencyKey),
            cancellationToken);
        return created.Id;
    }

    public Task SetCustomerMetadataAsync(string customerId, IReadOnlyDictionary<string, string> metadata, string idempotencyKey, CancellationToken cancellationToken) =>
        _stripe.V1.Customers.UpdateAsync(
            customerId,
            new CustomerUpdateOptions { Metadata = new(metadata) },
            StripeRequests.Idempotent(idempotencyKey),
            cancellationToken);

    public async Task<BillingSubscription> SubscribeByInvoiceAsync(string customerId, int daysUntilDue, string idempotencyKey, CancellationToken cancellationToken) =>
        ToBilling(await _stripe.V1.Subscriptions.CreateAsync(
            new SubscriptionCreateOptions
            {
                Customer = customerId,
                Items = [new SubscriptionItemOptions { Price = _options.PriceId }],
                CollectionMethod = "send_invoice",
                DaysUntilDue = daysUntilDue,
            },
            StripeRequests.Idempotent(idempotencyKey),
            cancellationToken));

    public async Task<BillingCheckout> StartCheckoutAsync(NewCheckout checkout, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkout);

        // A metered price takes no quantity: Stripe refuses one.
        var session = await _stripe.V1.Checkout.Sessions.CreateAsync(
            new Checkout.SessionCreateOptions
            {
                Mode = "subscription",
                Customer = checkout.CustomerId,
                LineItems = [new Checkout.SessionLineItemOptions { Price = _options.PriceId }],
                SuccessUrl = checkout.SuccessUrl,
                CancelUrl = checkout.CancelUrl,
                ClientReferenceId = checkout.SubscriberId,
                Metadata = new() { ["subscriberId"] = checkout.SubscriberId },
            },
            StripeRequests.Idempotent(idempotencyKey),
            cancellationToken);
        return ToBilling(session);
    }

    public async Task<BillingCheckout?> GetCheckoutAsync(string checkoutId, CancellationToken cancellationToken)
    {
        try
        {
            return ToBilling(await _stripe.V1.Checkout.Sessions.GetAsync(checkoutId, null, null, cancellationToken));
        }
        catch (StripeException e) when (StripeRequests.IsMissing(e))
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<BillingCheckout>> ListCheckoutsAsync(string customerId, CancellationToken cancellationToken)
    {
        var sessions = await _stripe.V1.Checkout.Sessions.ListAsync(new Checkout.SessionListOptions { Customer = customerId, Limit = 10 }, null, cancellationToken);
        return [.. sessions.Data.Select(ToBilling)];
    }

    public async Task<string?> GetCustomerSubscriberIdAsync(string customerId, CancellationToken cancellationToken)
    {
        try
        {
            var customer = await _stripe.V1.Customers.GetAsync(customerId, null, null, cancellationToken);
            return customer.Metadata is { } metadata && metadata.TryGetValue("subscriberId", out var subscriberId) && subscriberId.Length > 0 ? subscriberId : null;
        }
        catch (StripeException e) when (StripeRequests.IsMissing(e))
        {
            return null;
        }
    }

    public async Task<BillingSubscription?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        try
        {
            return ToBilling(await _stripe.V1.Subscriptions.GetAsync(subscriptionId, null, null, cancellationToken));
        }
        catch (StripeException e) when (StripeRequests.IsMissing(e))
        {
            return null;
        }
    }

    /// <summary><c>invoice_now</c>: a final invoice bills the metered usage not yet invoiced; without it Stripe drops that usage.</summary>
    public Task CancelSubscriptionAsync(string subscriptionId, string idempotencyKey, CancellationToken cancellationToken) =>
        _stripe.V1.Subscriptions.CancelAsync(
            subscriptionId,
            new SubscriptionCancelOptions { InvoiceNow = true },
            StripeRequests.Idempotent(idempotencyKey),
            cancellationToken);

    public static BillingSubscriptionStatus MapStatus(string status) => status switch
    {
        "active" => BillingSubscriptionStatus.Active,
        "trialing" => BillingSubscriptionStatus.Trialing,
        "past_due" => BillingSubscriptionStatus.PastDue,
        "unpaid" => BillingSubscriptionStatus.Unpaid,
        "paused" => BillingSubscriptionStatus.Paused,
        "canceled" => BillingSubscriptionStatus.Canceled,
        "incomplete" => BillingSubscriptionStatus.Incomplete,
        "incomplete_expired" => BillingSubscriptionStatus.IncompleteExpired,
        _ => BillingSubscriptionStatus.Other,
    };

    public static BillingCheckoutStatus MapCheckoutStatus(string status) => status switch
    {
        "open" => BillingCheckoutStatus.Open,
        "complete" => BillingCheckoutStatus.Complete,
        _ => BillingCheckoutStatus.Expired,
    };

    private static BillingCheckout ToBilling(Checkout.Session session) => new(
        session.Id,
        MapCheckoutStatus(session.Status),
        session.CustomerId,
        session.SubscriptionId,
        session.ClientReferenceId,
        session.Url is { Length: > 0 } url ? new Uri(url, UriKind.Absolute) : null);

    private static BillingSubscription ToBilling(Subscription subscription) =>
        new(subscription.Id, subscription.CustomerId, MapStatus(subscription.Status));
}

/// <summary>What every adapter says to Stripe.net the same way.</summary>
internal static class StripeRequests
{
    /// <summary>The caller's ledger-derived key: a retried flow replays Stripe's first answer.</summary>
    public static RequestOptions Idempotent(string idempotencyKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(idempotencyKey);
        return new RequestOptions { IdempotencyKey = idempotencyKey };
    }

    /// <summary>Stripe has no object with that id.</summary>
    public static bool IsMissing(StripeException e) =>
        e.HttpStatusCode == HttpStatusCode.NotFound && e.StripeError?.Code == "resource_missing";
}
