using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

/// <summary>
/// A hosted Checkout Session in mode <c>subscription</c> for one metered price: the customer enters a payment method
/// and Stripe creates the subscription on it. A metered price takes no <c>quantity</c> (Stripe refuses one).
/// </summary>
/// <param name="SuccessUrl">May carry Stripe's <c>{CHECKOUT_SESSION_ID}</c> placeholder, replaced by the session's id.</param>
public sealed record CreateCheckoutSession(
    string CustomerId,
    string PriceId,
    string SuccessUrl,
    string CancelUrl,
    string ClientReferenceId,
    IReadOnlyDictionary<string, string>? Metadata = null) : IStripeOperation<StripeCheckoutSession>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/checkout/sessions";

    public JsonTypeInfo<StripeCheckoutSession> ResponseType => StripeJsonContext.Default.StripeCheckoutSession;

    public void WriteParameters(StripeForm form) => form
        .Add("mode", "subscription")
        .Add("customer", CustomerId)
        .Add("line_items[0][price]", PriceId)
        .Add("success_url", SuccessUrl)
        .Add("cancel_url", CancelUrl)
        .Add("client_reference_id", ClientReferenceId)
        .AddMap("metadata", Metadata);
}

public sealed record RetrieveCheckoutSession(string SessionId) : IStripeOperation<StripeCheckoutSession>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => $"/v1/checkout/sessions/{StripePath.Segment(SessionId)}";

    public JsonTypeInfo<StripeCheckoutSession> ResponseType => StripeJsonContext.Default.StripeCheckoutSession;

    public void WriteParameters(StripeForm form)
    {
        // Nothing to send: the id is in the path.
    }
}

/// <summary>The customer's Checkout Sessions, newest first.</summary>
public sealed record ListCheckoutSessions(string CustomerId, int Limit = 10) : IStripeOperation<StripeList<StripeCheckoutSession>>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => "/v1/checkout/sessions";

    public JsonTypeInfo<StripeList<StripeCheckoutSession>> ResponseType => StripeJsonContext.Default.StripeListStripeCheckoutSession;

    public void WriteParameters(StripeForm form) => form.Add("customer", CustomerId).Add("limit", Limit);
}

public sealed record RetrieveCustomer(string CustomerId) : IStripeOperation<StripeCustomer>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => $"/v1/customers/{StripePath.Segment(CustomerId)}";

    public JsonTypeInfo<StripeCustomer> ResponseType => StripeJsonContext.Default.StripeCustomer;

    public void WriteParameters(StripeForm form)
    {
        // Nothing to send: the id is in the path.
    }
}
