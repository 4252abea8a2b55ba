using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Core.Billing;
using Monetization.Stripe.Operations;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe;

/// <summary>The billing port on Stripe: customers, one metered subscription each, usage as meter events.</summary>
public sealed partial class StripeBilling : IBilling
{
    private readonly StripeClient _client;
    private readonly StripeOptions _options;
    private readonly ILogger<StripeBilling> _logger;

    public StripeBilling(StripeClient client, IOptions<StripeOptions> options, ILogger<StripeBilling> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _options = options.Value;
        _logger = logger;
    }

    public async Task<string> CreateCustomerAsync(NewBillingCustomer customer, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        var created = await _client.CreateCustomerAsync(new CreateCustomer(customer.Email, customer.Name, customer.Metadata), idempotencyKey, cancellationToken);
        return created.Id;
    }

    public Task SetCustomerMetadataAsync(string customerId, IReadOnlyDictionary<string, string> metadata, string idempotencyKey, CancellationToken cancellationToken) =>
        _client.UpdateCustomerMetadataAsync(new UpdateCustomerMetadata(customerId, metadata), idempotencyKey, cancellationToken);

    public async Task<BillingSubscription> SubscribeByInvoiceAsync(string customerId, int daysUntilDue, string idempotencyKey, CancellationToken cancellationToken) =>
        ToBilling(await _client.CreateSubscriptionAsync(new CreateSubscription(customerId, _options.PriceId, DaysUntilDue: daysUntilDue), idempotencyKey, cancellationToken));

    public async Task<BillingCheckout> StartCheckoutAsync(NewCheckout checkout, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(checkout);
        var session = await _client.SendAsync(
            new CreateCheckoutSession(
                checkout.CustomerId,
                _options.PriceId,
                checkout.SuccessUrl,
                checkout.CancelUrl,
                checkout.SubscriberId,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["subscriberId"] = checkout.SubscriberId }),
            idempotencyKey,
            cancellationToken);
        return ToBilling(session);
    }

    public async Task<BillingCheckout?> GetCheckoutAsync(string checkoutId, CancellationToken cancellationToken)
    {
        try
        {
            return ToBilling(await _client.SendAsync(new RetrieveCheckoutSession(checkoutId), null, cancellationToken));
        }
        catch (StripeException e) when (e.HttpStatus == 404 && e.IsResourceMissing)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<BillingCheckout>> ListCheckoutsAsync(string customerId, CancellationToken cancellationToken)
    {
        var sessions = await _client.SendAsync(new ListCheckoutSessions(customerId), null, cancellationToken);
        return [.. sessions.Data.Select(ToBilling)];
    }

    public async Task<string?> GetCustomerSubscriberIdAsync(string customerId, CancellationToken cancellationToken)
    {
        try
        {
            var customer = await _client.SendAsync(new RetrieveCustomer(customerId), null, cancellationToken);
            return customer.Metadata.TryGetValue("subscriberId", out var subscriberId) && subscriberId.Length > 0 ? subscriberId : null;
        }
        catch (StripeException e) when (e.HttpStatus == 404 && e.IsResourceMissing)
        {
            return null;
        }
    }

    public async Task<BillingSubscription?> GetSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken)
    {
        try
        {
            return ToBilling(await _client.RetrieveSubscriptionAsync(new RetrieveSubscription(subscriptionId), cancellationToken));
        }
        catch (StripeException e) when (e.HttpStatus == 404 && e.IsResourceMissing)
        {
            return null;
        }
    }

    public Task CancelSubscriptionAsync(string subscriptionId, string idempotencyKey, CancellationToken cancellationToken) =>
        _client.CancelSubscriptionAsync(new CancelSubscription(subscriptionId, InvoiceNow: true), idempotencyKey, cancellationToken);

    public async Task ReportUsageAsync(MeterUsage usage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(usage);
        var meterEvent = new CreateMeterEvent(_options.MeterEventName, usage.CustomerId, usage.Value, usage.Timestamp, usage.Identifier);
        try
        {
            // The identifier doubles as the idempotency key: a retry after a lost answer replays the first result.
            await _client.CreateMeterEventAsync(meterEvent, $"meter-event:{usage.Identifier}", cancellationToken);
        }
        catch (StripeException e) when (e.IsDuplicateMeterEvent)
        {
            // Stripe already holds this exact report (an earlier run delivered it), which is the outcome we wanted.
            LogAlreadyReported(_logger, usage.Identifier, e.RequestId);
        }
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

    private static BillingCheckout ToBilling(StripeCheckoutSession session) => new(
        session.Id,
        MapCheckoutStatus(session.Status),
        session.Customer,
        session.Subscription,
        session.ClientReferenceId,
        session.Url is { Length: > 0 } url ? new Uri(url, UriKind.Absolute) : null);

    private static BillingSubscription ToBilling(StripeSubscription subscription) =>
        new(subscription.Id, subscription.Customer, MapStatus(subscription.Status));

    [LoggerMessage(Level = LogLevel.Information, Message = "Meter event {Identifier} was already recorded by Stripe (request {RequestId})")]
    private static partial void LogAlreadyReported(ILogger logger, string identifier, string? requestId);
}
