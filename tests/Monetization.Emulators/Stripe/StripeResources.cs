namespace Monetization.Emulators.Stripe;

// What the emulator holds. Immutable snapshots: tests read them without racing the server.

public sealed record EmulatedCustomer(
    string Id,
    long Created,
    string? Email,
    string? Name,
    string? Description,
    string? Phone,
    IReadOnlyDictionary<string, string> Metadata);

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

public sealed record EmulatedPrice(
    string Id,
    long Created,
    string ProductId,
    string Currency,
    long? UnitAmount,
    string UnitAmountDecimal,
    string? Interval,
    long IntervalCount,
    string? UsageType,
    string? MeterId,
    string? Nickname,
    IReadOnlyDictionary<string, string> Metadata);

public sealed record EmulatedSubscriptionItem(string Id, long Created, string PriceId, long? Quantity);

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
    long? EndedAt);

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

/// <summary>The outcome of one signed webhook POST.</summary>
public sealed record WebhookDelivery(string EventId, string Type, int StatusCode, string Payload);
