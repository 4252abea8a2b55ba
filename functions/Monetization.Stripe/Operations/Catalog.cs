using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

public sealed record CreateProduct(string Name, string? Description = null, IReadOnlyDictionary<string, string>? Metadata = null) : IStripeOperation<StripeProduct>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/products";

    public JsonTypeInfo<StripeProduct> ResponseType => StripeJsonContext.Default.StripeProduct;

    public void WriteParameters(StripeForm form) => form.Add("name", Name).Add("description", Description).AddMap("metadata", Metadata);
}

/// <summary>A billing meter that maps events to customers by <c>payload[stripe_customer_id]</c>.</summary>
/// <param name="Formula"><c>sum</c>, <c>count</c> or <c>last</c>.</param>
public sealed record CreateMeter(string DisplayName, string EventName, string Formula = "sum") : IStripeOperation<StripeMeter>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/billing/meters";

    public JsonTypeInfo<StripeMeter> ResponseType => StripeJsonContext.Default.StripeMeter;

    public void WriteParameters(StripeForm form) => form
        .Add("display_name", DisplayName)
        .Add("event_name", EventName)
        .Add("default_aggregation[formula]", Formula)
        .Add("customer_mapping[type]", "by_id")
        .Add("customer_mapping[event_payload_key]", "stripe_customer_id");
}

/// <summary>A recurring price billed on a meter's usage.</summary>
/// <param name="UnitAmountDecimal">Price per unit in the currency's minor unit, e.g. <c>0.5</c> = half a cent.</param>
public sealed record CreateMeteredPrice(string ProductId, string MeterId, string Currency, string UnitAmountDecimal, string Interval = "month") : IStripeOperation<StripePrice>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/prices";

    public JsonTypeInfo<StripePrice> ResponseType => StripeJsonContext.Default.StripePrice;

    public void WriteParameters(StripeForm form) => form
        .Add("product", ProductId)
        .Add("currency", Currency)
        .Add("unit_amount_decimal", UnitAmountDecimal)
        .Add("recurring[interval]", Interval)
        .Add("recurring[usage_type]", "metered")
        .Add("recurring[meter]", MeterId);
}
