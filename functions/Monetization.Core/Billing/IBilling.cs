namespace Monetization.Core.Billing;

/// <summary>Stripe subscription states that matter to access. Unknown future states map to <see cref="Other"/>.</summary>
public enum BillingSubscriptionStatus
{
    Active,
    Trialing,
    PastDue,
    Unpaid,
    Paused,
    Canceled,
    Incomplete,
    IncompleteExpired,
    Other,
}

public sealed record NewBillingCustomer(string Email, string Name, IReadOnlyDictionary<string, string> Metadata);

/// <param name="PeriodStart">When the current billing period began; null when the provider did not say.</param>
/// <param name="PeriodEnd">When it ends (exclusive): the next invoice.</param>
public sealed record BillingSubscription(
    string Id, string CustomerId, BillingSubscriptionStatus Status, DateTimeOffset? PeriodStart = null, DateTimeOffset? PeriodEnd = null);

public enum BillingCheckoutStatus
{
    Open,
    Complete,
    Expired,
}

/// <summary>A hosted payment page on which a customer enters a payment method and so starts the subscription.</summary>
/// <param name="SubscriberId">Who the checkout was started for (the session's client reference), as the flows set it.</param>
/// <param name="Url">Where the customer pays; only while <see cref="Status"/> is open.</param>
public sealed record BillingCheckout(string Id, BillingCheckoutStatus Status, string? CustomerId, string? SubscriptionId, string? SubscriberId, Uri? Url);

/// <param name="SuccessUrl">Where the customer returns after paying; <see cref="CheckoutSessionIdPlaceholder"/> in it becomes the checkout's id.</param>
/// <param name="CancelUrl">Where the customer returns when leaving without paying.</param>
public sealed record NewCheckout(string CustomerId, string SubscriberId, string SuccessUrl, string CancelUrl)
{
    public const string CheckoutSessionIdPlaceholder = "{CHECKOUT_SESSION_ID}";
}

/// <summary>What one unit of usage costs on the configured metered price.</summary>
/// <param name="UnitAmount">In the currency's smallest unit (cents for USD), as Stripe gives it; may have decimals.</param>
/// <param name="Currency">ISO 4217, lower case, as Stripe gives it.</param>
/// <param name="Interval">How often usage is invoiced: <c>month</c>, <c>year</c>, …</param>
public sealed record BillingPrice(decimal UnitAmount, string Currency, string Interval);

/// <summary>One usage report for one customer, deduplicated by <see cref="Identifier"/> on the billing side.</summary>
public sealed record MeterUsage(string CustomerId, long Value, DateTimeOffset Timestamp, string Identifier);

/// <summary>
/// The billing provider (Stripe). Every mutating call takes an idempotency key that the caller derives from the
/// ledger, so a retried flow replays the provider's earlier answer instead of creating a second object.
/// </summary>
public interface IBilling
{
    /// <returns>The new customer's id.</returns>
    Task<string> CreateCustomerAsync(NewBillingCustomer customer, string idempotencyKey, CancellationToken cancellationToken);

    Task SetCustomerMetadataAsync(string customerId, IReadOnlyDictionary<string, string> metadata, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes the customer to the configured metered price, billed by invoices sent by e-mail and payable within
    /// <paramref name="daysUntilDue"/> days. Subscriptions charged to a card are started only by a checkout, which
    /// collects the card first.
    /// </summary>
    Task<BillingSubscription> SubscribeByInvoiceAsync(string customerId, int daysUntilDue, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Opens a hosted checkout for the configured metered price; paying it creates the subscription.</summary>
    Task<BillingCheckout> StartCheckoutAsync(NewCheckout checkout, string idempotencyKey, CancellationToken cancellationToken);

    /// <returns>The checkout, or null when the billing provider has none with this id.</returns>
    Task<BillingCheckout?> GetCheckoutAsync(string checkoutId, CancellationToken cancellationToken);

    /// <summary>The customer's recent checkouts, newest first.</summary>
    Task<IReadOnlyList<BillingCheckout>> ListCheckoutsAsync(string customerId, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the billing provider's hosted billing portal for the customer: a short-lived address where they update
    /// their card, see their invoices and cancel at the end of the period. What they change there arrives as billing
    /// events, like every other change. Opening one changes nothing, so it takes no idempotency key: a retry that
    /// opens a second session is harmless.
    /// </summary>
    /// <param name="returnUrl">Where the portal's return link leads.</param>
    /// <returns>Where to send the customer, at once: the address expires if nobody visits it.</returns>
    Task<Uri> OpenBillingPortalAsync(string customerId, Uri returnUrl, CancellationToken cancellationToken);

    /// <summary>The configured metered price, read once and kept (the pricing page shows it).</summary>
    Task<BillingPrice> GetPriceAsync(CancellationToken cancellationToken);

    /// <summary>The <c>subscriberId</c> the customer was created with, or null for an unknown customer or one created elsewhere.</summary>
    Task<string?> GetCustomerSubscriberIdAsync(string customerId, CancellationToken cancellationToken);

    Task<BillingSubscription?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels at once with a final invoice for the usage not yet invoiced, so ending a subscription never forgives usage.
    /// A subscription that is already canceled counts as done.
    /// </summary>
    Task CancelSubscriptionAsync(string subscriptionId, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// Bills usage counted after the customer's subscription was canceled (its meter events would be invoiced by no
    /// subscription) as a one-off invoice item on the customer, priced like the metered price, waiting for
    /// <see cref="InvoicePendingUsageAsync"/>. An item already carrying <paramref name="usage"/>'s identifier counts as
    /// billed, so a resend after a lost answer or a crash bills nothing twice.
    /// </summary>
    /// <param name="attemptKey">
    /// The idempotency key of this attempt's create; a later attempt passes a new one (the identifier look-up already
    /// finds what an earlier attempt created), so a failure Stripe stored for one key is never replayed to the next.
    /// </param>
    Task BillUsageItemAsync(MeterUsage usage, string attemptKey, CancellationToken cancellationToken);

    /// <summary>
    /// Puts the customer's pending usage items (<see cref="BillUsageItemAsync"/>) on an invoice of their own, finalized
    /// and collected as the customer's settings say.
    /// </summary>
    /// <returns>Whether there was anything to invoice.</returns>
    Task<bool> InvoicePendingUsageAsync(string customerId, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>
    /// The units billed to the customer for one UTC day, as the billing provider holds them: the meter's total of the
    /// customer's events timestamped in the day, plus the quantity of their usage items (<see cref="BillUsageItemAsync"/>)
    /// whose identifier names the day. Reads only.
    /// </summary>
    Task<long> UsageBilledOnAsync(string customerId, DateOnly day, CancellationToken cancellationToken);
}
