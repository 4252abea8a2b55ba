using System.Text.Json.Serialization;

namespace Monetization.Stripe.Operations;

// The v2 billing meter event API: JSON bodies, ISO 8601 timestamps, string payload values. A session (15 minutes)
// authenticates the stream on meter-events.stripe.com; the stream takes at most 100 events a request and answers 202.

public sealed record StripeMeterEventSession
{
    public required string Id { get; init; }

    public required string AuthenticationToken { get; init; }

    public DateTimeOffset Created { get; init; }

    public required DateTimeOffset ExpiresAt { get; init; }

    public bool Livemode { get; init; }

    public override string ToString() => $"StripeMeterEventSession {{ Id = {Id}, ExpiresAt = {ExpiresAt:O}, AuthenticationToken = *** }}";
}

public sealed record StreamMeterEvent(string EventName, string Identifier, DateTimeOffset Timestamp, IReadOnlyDictionary<string, string> Payload);

public sealed record MeterEventStreamRequest(IReadOnlyList<StreamMeterEvent> Events)
{
    public const int MaxEvents = 100;
}

public sealed record StripeEmptyObject;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StripeMeterEventSession))]
[JsonSerializable(typeof(MeterEventStreamRequest))]
[JsonSerializable(typeof(StripeEmptyObject))]
public sealed partial class StripeV2JsonContext : JsonSerializerContext;
