using System.Text.Json;
using System.Text.Json.Serialization;
using Monetization.Stripe.Webhooks;

namespace Monetization.Stripe.Wire;

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StripeCustomer))]
[JsonSerializable(typeof(StripeList<StripeCustomer>))]
[JsonSerializable(typeof(StripeProduct))]
[JsonSerializable(typeof(StripeMeter))]
[JsonSerializable(typeof(StripePrice))]
[JsonSerializable(typeof(StripeSubscription))]
[JsonSerializable(typeof(StripeList<StripeSubscription>))]
[JsonSerializable(typeof(StripeCheckoutSession))]
[JsonSerializable(typeof(StripeList<StripeCheckoutSession>))]
[JsonSerializable(typeof(StripeMeterEvent))]
[JsonSerializable(typeof(StripeList<StripeMeterEventSummary>))]
[JsonSerializable(typeof(StripeErrorEnvelope))]
[JsonSerializable(typeof(StripeEventEnvelope))]
[JsonSerializable(typeof(JsonElement))]
public sealed partial class StripeJsonContext : JsonSerializerContext;
