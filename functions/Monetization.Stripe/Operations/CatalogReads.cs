using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

public sealed record RetrievePrice(string PriceId) : IStripeOperation<StripePrice>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => $"/v1/prices/{StripePath.Segment(PriceId)}";

    public JsonTypeInfo<StripePrice> ResponseType => StripeJsonContext.Default.StripePrice;

    public void WriteParameters(StripeForm form)
    {
        // Nothing to send: the id is in the path.
    }
}

public sealed record RetrieveMeter(string MeterId) : IStripeOperation<StripeMeter>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => $"/v1/billing/meters/{StripePath.Segment(MeterId)}";

    public JsonTypeInfo<StripeMeter> ResponseType => StripeJsonContext.Default.StripeMeter;

    public void WriteParameters(StripeForm form)
    {
        // Nothing to send: the id is in the path.
    }
}
