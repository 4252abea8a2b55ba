using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

public sealed record CreateSubscription(string CustomerId, string PriceId, IReadOnlyDictionary<string, string>? Metadata = null) : IStripeOperation<StripeSubscription>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/subscriptions";

    public JsonTypeInfo<StripeSubscription> ResponseType => StripeJsonContext.Default.StripeSubscription;

    public void WriteParameters(StripeForm form) => form
        .Add("customer", CustomerId)
        .Add("items[0][price]", PriceId)
        .AddMap("metadata", Metadata);
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
public sealed record CancelSubscription(string SubscriptionId) : IStripeOperation<StripeSubscription>
{
    public HttpMethod Method => HttpMethod.Delete;

    public string Path => $"/v1/subscriptions/{StripePath.Segment(SubscriptionId)}";

    public JsonTypeInfo<StripeSubscription> ResponseType => StripeJsonContext.Default.StripeSubscription;

    public void WriteParameters(StripeForm form)
    {
        // Nothing to send: the id is in the path.
    }
}
