using System.Net;
using Microsoft.Extensions.Options;
using Monetization.Core.Billing;
using Monetization.Core.Usage;
using Stripe;
using BillingPortal = Stripe.BillingPortal;
using Checkout = Stripe.Checkout;

namespace Monetization.Stripe;

/// <summary>
/// The billing port on Stripe.net's services: customers, one metered subscription each (started by a hosted Checkout or
/// billed by e-mailed invoice), and usage counted after a subscription ended as invoice items on an invoice of their
/// own, and the hosted billing portal where customers manage what they pay with. Every POST that makes something
/// carries the caller's ledger-derived idempotency key.
/// </summary>
public sealed class StripeBilling : IBilling
{
    /// <summary>The metadata key that ties an invoice item to the usage it bills.</summary>
    public const string UsageIdentifierKey = "usage_identifier";

    /// <summary>What the customer reads on the item and on its invoice.</summary>
    private const string UsageDescription = "API requests after the subscription ended";

    private readonly StripeClient _stripe;
    private readonly StripeOptions _options;
    private Price? _meteredPrice;

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

    /// <summary>
    /// Sent without an idempotency key (<see cref="StripeTransport"/> lets this path through without one): a session
    /// is harmless and short-lived, so a retry may make a second one, while a key would replay a stored failure to
    /// every retry for a day.
    /// </summary>
    public async Task<Uri> OpenBillingPortalAsync(string customerId, Uri returnUrl, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(customerId);
        ArgumentNullException.ThrowIfNull(returnUrl);
        var session = await _stripe.V1.BillingPortal.Sessions.CreateAsync(
            new BillingPortal.SessionCreateOptions { Customer = customerId, ReturnUrl = returnUrl.AbsoluteUri },
            null,
            cancellationToken);
        return new Uri(session.Url, UriKind.Absolute);
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

    /// <summary>
    /// <c>invoice_now</c>: a final invoice bills the metered usage not yet invoiced; without it Stripe drops that usage.
    /// Stripe answers a cancel of a subscription it already canceled with <c>resource_missing</c> (404, "No such
    /// subscription"), also when a retried flow sends it again: it keeps no idempotency keys for DELETE, so nothing is
    /// replayed. The subscription itself still reads as canceled, which is what counts.
    /// </summary>
    public async Task CancelSubscriptionAsync(string subscriptionId, string idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            await _stripe.V1.Subscriptions.CancelAsync(
                subscriptionId,
                new SubscriptionCancelOptions { InvoiceNow = true },
                StripeRequests.Idempotent(idempotencyKey),
                cancellationToken);
        }
        catch (StripeException e) when (StripeRequests.IsMissing(e))
        {
            if (await GetSubscriptionAsync(subscriptionId, cancellationToken) is not { Status: BillingSubscriptionStatus.Canceled })
            {
                throw;
            }
        }
    }

    public async Task BillUsageItemAsync(MeterUsage usage, string attemptKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(usage);
        ArgumentOutOfRangeException.ThrowIfNegative(usage.Value);
        if (usage.Value == 0 || await FindUsageItemAsync(usage.CustomerId, usage.Identifier, pendingOnly: false, cancellationToken) is not null)
        {
            return;
        }

        // price_data, not pricing[price]: Stripe documents pricing[price] with one-time and licensed prices, not metered
        // ones; an inline one-off price at the metered price's unit amount bills the same.
        var price = await MeteredPriceAsync(cancellationToken);
        var at = usage.Timestamp.UtcDateTime;
        await _stripe.V1.InvoiceItems.CreateAsync(
            new InvoiceItemCreateOptions
            {
                Customer = usage.CustomerId,
                Quantity = usage.Value,
                PriceData = new InvoiceItemPriceDataOptions { Currency = price.Currency, Product = price.ProductId, UnitAmountDecimal = price.UnitAmountDecimal },
                Description = UsageDescription,
                Period = new InvoiceItemPeriodOptions { Start = at, End = at },
                Metadata = new() { [UsageIdentifierKey] = usage.Identifier },
            },
            StripeRequests.Idempotent(attemptKey),
            cancellationToken);
    }

    public async Task<bool> InvoicePendingUsageAsync(string customerId, string idempotencyKey, CancellationToken cancellationToken)
    {
        if (await FindUsageItemAsync(customerId, identifier: null, pendingOnly: true, cancellationToken) is null)
        {
            return false;
        }

        var invoice = await _stripe.V1.Invoices.CreateAsync(
            new InvoiceCreateOptions
            {
                Customer = customerId,
                PendingInvoiceItemsBehavior = "include",
                AutoAdvance = true,
                CollectionMethod = "charge_automatically",
                Description = UsageDescription,
            },
            StripeRequests.Idempotent(idempotencyKey),
            cancellationToken);
        if (invoice.Lines?.Data is { Count: > 0 })
        {
            return true;
        }

        // Another call invoiced the items between the look-up and the create: with include Stripe then makes an empty
        // draft (no error), which would otherwise be finalized as a zero invoice within the hour.
        try
        {
            await _stripe.V1.Invoices.DeleteAsync(invoice.Id, null, null, cancellationToken);
        }
        catch (StripeException e) when (StripeRequests.IsMissing(e))
        {
            // A replay of an earlier attempt whose empty draft is gone already.
        }

        return false;
    }

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

    public async Task<long> UsageBilledOnAsync(string customerId, DateOnly day, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(customerId);
        var meterId = (await MeteredPriceAsync(cancellationToken)).Recurring?.Meter
            ?? throw new InvalidOperationException($"Stripe:PriceId ({_options.PriceId}) is not billed on a meter.");
        var start = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
        decimal metered = 0;
        var summaries = _stripe.V1.Billing.Meters.EventSummaries.ListAutoPagingAsync(
            meterId,
            new global::Stripe.Billing.MeterEventSummaryListOptions { Customer = customerId, StartTime = start, EndTime = start.AddDays(1) },
            null,
            cancellationToken);
        await foreach (var summary in summaries.WithCancellation(cancellationToken))
        {
            metered += (decimal)summary.AggregatedValue;
        }

        long itemized = 0;
        var items = _stripe.V1.InvoiceItems.ListAutoPagingAsync(new InvoiceItemListOptions { Customer = customerId, Limit = 100 }, null, cancellationToken);
        await foreach (var item in items.WithCancellation(cancellationToken))
        {
            if (item.Metadata is { } metadata && metadata.TryGetValue(UsageIdentifierKey, out var identifier) && ReportStripeUsage.DayOf(identifier) == day)
            {
                itemized += item.Quantity;
            }
        }

        return (long)metered + itemized;
    }

    /// <summary>The customer's first invoice item (pending ones only, if asked) billing usage: the one with <paramref name="identifier"/>, or any.</summary>
    private async Task<InvoiceItem?> FindUsageItemAsync(string customerId, string? identifier, bool pendingOnly, CancellationToken cancellationToken)
    {
        var items = _stripe.V1.InvoiceItems.ListAutoPagingAsync(
            new InvoiceItemListOptions { Customer = customerId, Pending = pendingOnly ? true : null, Limit = 100 },
            null,
            cancellationToken);
        await foreach (var item in items.WithCancellation(cancellationToken))
        {
            if (item.Metadata is { } metadata && metadata.TryGetValue(UsageIdentifierKey, out var billed) && (identifier is null || billed == identifier))
            {
                return item;
            }
        }

        return null;
    }

    public async Task<BillingPrice> GetPriceAsync(CancellationToken cancellationToken)
    {
        var price = await MeteredPriceAsync(cancellationToken);
        return new BillingPrice(price.UnitAmountDecimal!.Value, price.Currency, price.Recurring?.Interval ?? "month");
    }

    /// <summary>The configured price, read once: what one unit of usage billed as an invoice item costs.</summary>
    private async Task<Price> MeteredPriceAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _meteredPrice) is { } known)
        {
            return known;
        }

        var price = await _stripe.V1.Prices.GetAsync(_options.PriceId, null, null, cancellationToken);
        if (price.BillingScheme == "tiered" || price.UnitAmountDecimal is null)
        {
            throw new InvalidOperationException(
                $"Stripe:PriceId ({price.Id}) is {(price.BillingScheme == "tiered" ? "a tiered price" : "a price without a unit amount")}: "
                + "usage billed after a subscription ended is priced per unit, so the price needs billing_scheme per_unit and a unit amount.");
        }

        Volatile.Write(ref _meteredPrice, price);
        return price;
    }

    private static BillingCheckout ToBilling(Checkout.Session session) => new(
        session.Id,
        MapCheckoutStatus(session.Status),
        session.CustomerId,
        session.SubscriptionId,
        session.ClientReferenceId,
        session.Url is { Length: > 0 } url ? new Uri(url, UriKind.Absolute) : null);

    /// <summary>The billing period sits on the items since API version basil; every item of one subscription shares it.</summary>
    private static BillingSubscription ToBilling(Subscription subscription) =>
        subscription.Items?.Data is [var item, ..]
            ? new(subscription.Id, subscription.CustomerId, MapStatus(subscription.Status), Utc(item.CurrentPeriodStart), Utc(item.CurrentPeriodEnd))
            : new(subscription.Id, subscription.CustomerId, MapStatus(subscription.Status));

    private static DateTimeOffset? Utc(DateTime at) => at == default ? null : new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc));
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
