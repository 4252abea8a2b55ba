namespace Monetization.Stripe.Webhooks;

/// <summary>The events the webhook endpoint must send: every one the Portal acts on.</summary>
public static class StripeWebhookEvents
{
    public static readonly IReadOnlyList<string> Required =
    [
        "checkout.session.completed",
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "invoice.paid",
        "invoice.payment_failed",
    ];
}
