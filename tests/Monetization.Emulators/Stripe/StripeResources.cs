namespace Monetization.Emulators.Stripe;

// What the emulator holds. Immutable snapshots: tests read them without racing the server.

/// <param name="DefaultPaymentMethod">What invoices are charged to (<c>invoice_settings.default_payment_method</c>); set in the billing portal.</param>
public sealed record EmulatedCustomer(
    string Id,
    long Created,
    string? Email,
    string? Name,
    string? Description,
    string? Phone,
    IReadOnlyDictionary<string, string> Metadata,
    string? DefaultPaymentMethod = null);

public sealed record EmulatedProduct(string Id, long Created, string Name, string? Description, bool Active, IReadOnlyDictionary<string, string> Metadata);

public sealed record EmulatedMeter(
    string Id,
    long Created,
    string DisplayName,
    string EventName,
    string Formula,
    string CustomerPayloadKey,
    string ValuePayloadKey,
    string? EventTimeWindow);

/// <param name="UnitAmountDecimal">Null for a tiered price: its tiers say what a unit costs.</param>
/// <param name="BillingScheme"><c>per_unit</c> or <c>tiered</c>.</param>
/// <param name="TiersMode"><c>graduated</c> or <c>volume</c> for a tiered price.</param>
public sealed record EmulatedPrice(
    string Id,
    long Created,
    string ProductId,
    string Currency,
    long? UnitAmount,
    string? UnitAmountDecimal,
    string? Interval,
    long IntervalCount,
    string? UsageType,
    string? MeterId,
    string? Nickname,
    IReadOnlyDictionary<string, string> Metadata,
    string BillingScheme = "per_unit",
    string? TiersMode = null,
    IReadOnlyList<EmulatedPriceTier>? Tiers = null);

/// <param name="UpTo">The last unit of the tier; null for the last tier (<c>up_to=inf</c>).</param>
public sealed record EmulatedPriceTier(long? UpTo, decimal UnitAmount, decimal FlatAmount);

public sealed record EmulatedSubscriptionItem(string Id, long Created, string PriceId, long? Quantity);

/// <param name="CancelAtPeriodEnd">Canceled in the billing portal: it stays as it is until <see cref="CancelAt"/>, the end of the period.</param>
public sealed record EmulatedSubscription(
    string Id,
    long Created,
    string CustomerId,
    string Status,
    IReadOnlyList<EmulatedSubscriptionItem> Items,
    IReadOnlyDictionary<string, string> Metadata,
    long CurrentPeriodStart,
    long CurrentPeriodEnd,
    long? CanceledAt,
    long? EndedAt,
    string CollectionMethod = "charge_automatically",
    long? DaysUntilDue = null,
    string? DefaultPaymentMethod = null,
    string? LatestInvoiceId = null,
    bool CancelAtPeriodEnd = false,
    long? CancelAt = null);

/// <summary>A Checkout Session in mode <c>subscription</c> for one recurring price.</summary>
public sealed record EmulatedCheckoutSession(
    string Id,
    long Created,
    long ExpiresAt,
    string Mode,
    string CustomerId,
    string PriceId,
    string? SuccessUrl,
    string? CancelUrl,
    string? ClientReferenceId,
    IReadOnlyDictionary<string, string> Metadata,
    string Status,
    string PaymentStatus,
    string Url,
    string? SubscriptionId = null,
    string? InvoiceId = null);

/// <summary>A customer's visit to the hosted billing portal (<c>POST /v1/billing_portal/sessions</c>).</summary>
/// <param name="ReturnUrl">Where the portal's return link leads; null when none was given.</param>
public sealed record EmulatedBillingPortalSession(string Id, long Created, string ConfigurationId, string CustomerId, string? ReturnUrl, string Url);

/// <param name="SubscriptionId">Null for a one-off invoice (<c>POST /v1/invoices</c>), which has no parent.</param>
/// <param name="AutoAdvance">As created; null for a subscription's invoice, which advances until it is paid.</param>
public sealed record EmulatedInvoice(
    string Id,
    long Created,
    string CustomerId,
    string? SubscriptionId,
    string Status,
    string BillingReason,
    string CollectionMethod,
    long AmountDue,
    long AmountPaid,
    string Currency,
    long PeriodStart,
    long PeriodEnd,
    long? DueDate,
    string? Description = null,
    bool? AutoAdvance = null,
    IReadOnlyDictionary<string, string>? Metadata = null);

/// <summary>
/// A one-off charge on a customer (<c>POST /v1/invoiceitems</c>), pending until an invoice takes it; its price was
/// made inline from <c>price_data</c> or is an existing price (<c>pricing[price]</c>).
/// </summary>
/// <param name="Amount">Quantity × unit amount, rounded to a whole minor unit as Stripe rounds each line.</param>
/// <param name="InvoiceId">The invoice that took the item; null while it is pending.</param>
public sealed record EmulatedInvoiceItem(
    string Id,
    long Created,
    string CustomerId,
    string Currency,
    long Quantity,
    string UnitAmountDecimal,
    long Amount,
    string PriceId,
    string ProductId,
    string? Description,
    bool Discountable,
    long PeriodStart,
    long PeriodEnd,
    IReadOnlyDictionary<string, string> Metadata,
    string? InvoiceId = null);

/// <summary>An event as Stripe keeps it (<c>/v1/events</c>): what happened, rendered when it happened.</summary>
public sealed record EmulatedEvent(string Id, string Type, long Created, string Payload);

public sealed record EmulatedMeterEvent(
    string Identifier,
    string EventName,
    string CustomerId,
    long Value,
    long Timestamp,
    long Created,
    IReadOnlyDictionary<string, string> Payload);

/// <summary>One API request as the emulator received it (never the Authorization header).</summary>
public sealed record RecordedRequest(string Method, string Path, string? IdempotencyKey, string? StripeVersion);

/// <summary>The outcome of one signed webhook POST (<see cref="StatusCode"/> 0 when the endpoint could not be reached).</summary>
public sealed record WebhookDelivery(string EventId, string Type, int StatusCode, string Payload);

/// <param name="ApiVersion">The version events are written at for this endpoint; null means the account's default.</param>
/// <param name="Status"><c>enabled</c> or <c>disabled</c>.</param>
public sealed record EmulatedWebhookEndpoint(
    string Id,
    long Created,
    string Url,
    IReadOnlyList<string> EnabledEvents,
    string? ApiVersion,
    string Status,
    string? Description,
    string Secret,
    IReadOnlyDictionary<string, string> Metadata);
