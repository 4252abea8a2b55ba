using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

/// <summary>
/// One usage report. Stripe deduplicates on <see cref="Identifier"/> (at most 100 characters) for at least 24 hours;
/// <see cref="Timestamp"/> must lie within the last 35 days and at most 5 minutes ahead.
/// </summary>
public sealed record CreateMeterEvent(string EventName, string CustomerId, long Value, DateTimeOffset Timestamp, string Identifier) : IStripeOperation<StripeMeterEvent>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/billing/meter_events";

    public JsonTypeInfo<StripeMeterEvent> ResponseType => StripeJsonContext.Default.StripeMeterEvent;

    public void WriteParameters(StripeForm form) => form
        .Add("event_name", EventName)
        .Add("identifier", Identifier)
        .Add("payload[stripe_customer_id]", CustomerId)
        .Add("payload[value]", Value)
        .Add("timestamp", Timestamp.ToUnixTimeSeconds());
}

/// <summary>Aggregated usage of one customer on one meter between two minute-aligned instants (end exclusive).</summary>
public sealed record ListMeterEventSummaries(string MeterId, string CustomerId, DateTimeOffset StartTime, DateTimeOffset EndTime) : IStripeOperation<StripeList<StripeMeterEventSummary>>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => $"/v1/billing/meters/{StripePath.Segment(MeterId)}/event_summaries";

    public JsonTypeInfo<StripeList<StripeMeterEventSummary>> ResponseType => StripeJsonContext.Default.StripeListStripeMeterEventSummary;

    public void WriteParameters(StripeForm form) => form
        .Add("customer", CustomerId)
        .Add("start_time", StartTime.ToUnixTimeSeconds())
        .Add("end_time", EndTime.ToUnixTimeSeconds());
}
