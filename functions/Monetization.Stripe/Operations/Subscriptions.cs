using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

/// <param name="DaysUntilDue">
/// Set: the subscription is billed by e-mailed invoice (<c>collection_method=send_invoice</c>) payable within this many
/// days. Unset: Stripe charges the customer's default payment method, which only a Checkout has collected.
/// </param>
public sealed record CreateSubscription(string CustomerId, string PriceId, IReadOnlyDictionary<string, string>? Metadata = null, int? DaysUntilDue = null) : IStripeOperation<StripeSubscription>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/subscriptions";

    public JsonTypeInfo<StripeSubscription> ResponseType => StripeJsonContext.Default.StripeSubscription;

    public void WriteParameters(StripeForm form) => form
        .Add("customer", CustomerId)
        .Add("items[0][price]", PriceId)
        .AddMap("metadata", Metadata)
        .Add("collection_method", DaysUntilDue is null ? null : "send_invoice")
        .Add("days_until_due", DaysUntilDue);
}

public sealed record RetrieveSubscription(string SubscriptionId) : IStripeOperation<StripeSubscription>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => $"/v1/subscriptions/{StripePath.Segment(SubscriptionId)}";

    public JsonTypeInfo<StripeSubscription> ResponseType => StripeJsonContext.Default.StripeSubscription;

    public void WriteParameters(StripeForm form)
    {
        // Nothing to send: the id is in the path.
    }
}

/// <summary>Cancels at once (<c>DELETE /v1/subscriptions/{id}</c>); the subscription becomes <c>canceled</c>.</summary>
/// <param name="InvoiceNow">
/// True: a final invoice bills the metered usage not yet invoiced. Without it Stripe drops that usage.
/// </param>
public sealed record CancelSubscription(string SubscriptionId, bool? InvoiceNow = null) : IStripeOperation<StripeSubscription>
{
    public HttpMethod Method => HttpMethod.Delete;

    public string Path => $"/v1/subscriptions/{StripePath.Segment(SubscriptionId)}";

    public JsonTypeInfo<StripeSubscription> ResponseType => StripeJsonContext.Default.StripeSubscription;

    public void WriteParameters(StripeForm form) => form.Add("invoice_now", InvoiceNow);
}
