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

public sealed record BillingSubscription(string Id, string CustomerId, BillingSubscriptionStatus Status);

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

    /// <summary>Subscribes the customer to the configured metered price.</summary>
    Task<BillingSubscription> SubscribeAsync(string customerId, string idempotencyKey, CancellationToken cancellationToken);

    Task<BillingSubscription?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    Task CancelSubscriptionAsync(string subscriptionId, string idempotencyKey, CancellationToken cancellationToken);

    Task ReportUsageAsync(MeterUsage usage, CancellationToken cancellationToken);
}
