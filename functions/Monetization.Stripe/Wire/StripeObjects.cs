namespace Monetization.Stripe.Wire;

// The parts of Stripe's objects this project reads. Unknown fields are ignored, so newer API versions add fields
// without breaking us; the shapes follow Stripe's published examples for 2025-03-31.basil and later.

public sealed record StripeCustomer
{
    public required string Id { get; init; }

    public long Created { get; init; }

    public string? Email { get; init; }

    public string? Name { get; init; }

    public bool Livemode { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

public sealed record StripeProduct
{
    public required string Id { get; init; }

    public string? Name { get; init; }

    public bool Active { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

public sealed record StripeMeter
{
    public required string Id { get; init; }

    public string? DisplayName { get; init; }

    public string? EventName { get; init; }

    public string? Status { get; init; }

    public StripeMeterAggregation? DefaultAggregation { get; init; }

    public StripeMeterCustomerMapping? CustomerMapping { get; init; }
}

public sealed record StripeMeterAggregation(string Formula);

public sealed record StripeMeterCustomerMapping(string Type, string EventPayloadKey);

public sealed record StripePrice
{
    public required string Id { get; init; }

    public string? Product { get; init; }

    public string? Currency { get; init; }

    public long? UnitAmount { get; init; }

    public string? UnitAmountDecimal { get; init; }

    public string? Type { get; init; }

    public StripeRecurring? Recurring { get; init; }
}

public sealed record StripeRecurring
{
    public string? Interval { get; init; }

    public long IntervalCount { get; init; }

    public string? UsageType { get; init; }

    public string? Meter { get; init; }
}

public sealed record StripeSubscription
{
    public required string Id { get; init; }

    /// <summary>The customer id (this client never expands it).</summary>
    public required string Customer { get; init; }

    public required string Status { get; init; }

    public long Created { get; init; }

    public long? CanceledAt { get; init; }

    public long? EndedAt { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    public StripeList<StripeSubscriptionItem>? Items { get; init; }
}

public sealed record StripeCheckoutSession
{
    public required string Id { get; init; }

    /// <summary><c>open</c>, <c>complete</c> or <c>expired</c>.</summary>
    public required string Status { get; init; }

    public string? Mode { get; init; }

    public string? PaymentStatus { get; init; }

    /// <summary>The customer id (this client never expands it).</summary>
    public string? Customer { get; init; }

    /// <summary>The subscription Checkout created, once the session is complete.</summary>
    public string? Subscription { get; init; }

    public string? ClientReferenceId { get; init; }

    /// <summary>The hosted payment page; null once the session is no longer open.</summary>
    public string? Url { get; init; }

    public long ExpiresAt { get; init; }

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

public sealed record StripeSubscriptionItem
{
    public required string Id { get; init; }

    public StripePrice? Price { get; init; }

    public long? Quantity { get; init; }

    public long CurrentPeriodStart { get; init; }

    public long CurrentPeriodEnd { get; init; }
}

public sealed record StripeMeterEvent
{
    public required string Identifier { get; init; }

    public string? EventName { get; init; }

    public long Timestamp { get; init; }

    public long Created { get; init; }

    public IReadOnlyDictionary<string, string> Payload { get; init; } = new Dictionary<string, string>();
}

public sealed record StripeMeterEventSummary
{
    public required string Id { get; init; }

    public string? Meter { get; init; }

    public double AggregatedValue { get; init; }

    public long StartTime { get; init; }

    public long EndTime { get; init; }
}

public sealed record StripeList<T>
{
    public IReadOnlyList<T> Data { get; init; } = [];

    public bool HasMore { get; init; }

    public string? Url { get; init; }
}

public sealed record StripeErrorEnvelope
{
    public StripeErrorBody? Error { get; init; }
}

public sealed record StripeErrorBody
{
    public string? Type { get; init; }

    public string? Code { get; init; }

    public string? Message { get; init; }

    public string? Param { get; init; }
}
