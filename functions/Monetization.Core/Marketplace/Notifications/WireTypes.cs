using System.Text.Json;
using System.Text.Json.Serialization;

namespace Monetization.Core.Marketplace.Notifications;

// Wire shapes only: every field is optional here so that a missing field becomes a per-record Malformed result
// with a message naming it, instead of a serializer exception for the whole delivery.

internal sealed record SnsLambdaEvent(
    [property: JsonPropertyName("Records")] IReadOnlyList<JsonElement>? Records);

internal sealed record SnsRecord(
    [property: JsonPropertyName("EventSource")] string? EventSource,
    [property: JsonPropertyName("Sns")] SnsPayload? Sns);

internal sealed record SnsPayload(
    [property: JsonPropertyName("MessageId")] string? MessageId,
    [property: JsonPropertyName("TopicArn")] string? TopicArn,
    [property: JsonPropertyName("Timestamp")] string? Timestamp,
    [property: JsonPropertyName("Message")] string? Message);

internal sealed record MarketplaceSnsMessage(
    [property: JsonPropertyName("action")] string? Action,
    [property: JsonPropertyName("customer-identifier")] string? CustomerIdentifier,
    [property: JsonPropertyName("product-code")] string? ProductCode,
    [property: JsonPropertyName("offer-identifier")] string? OfferIdentifier,
    [property: JsonPropertyName("CustomerIdentifier")] string? LegacyCustomerIdentifier,
    [property: JsonPropertyName("ProductCode")] string? LegacyProductCode)
{
    // AWS's pages have shown the message in two spellings; both name the same fields.
    public string? Customer => (CustomerIdentifier ?? LegacyCustomerIdentifier)?.Trim();

    public string? Product => (ProductCode ?? LegacyProductCode)?.Trim();
}

internal sealed record EventBridgeEnvelope(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("detail-type")] string? DetailType,
    [property: JsonPropertyName("time")] string? Time,
    [property: JsonPropertyName("detail")] AgreementDetail? Detail);

internal sealed record AgreementDetail(
    [property: JsonPropertyName("agreement")] IdField? Agreement,
    [property: JsonPropertyName("product")] ProductField? Product,
    [property: JsonPropertyName("license")] LicenseField? License,
    [property: JsonPropertyName("acceptor")] AccountField? Acceptor,
    [property: JsonPropertyName("offer")] IdField? Offer);

internal sealed record IdField([property: JsonPropertyName("id")] string? Id);

internal sealed record ProductField(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("code")] string? Code);

internal sealed record LicenseField([property: JsonPropertyName("arn")] string? Arn);

internal sealed record AccountField([property: JsonPropertyName("accountId")] string? AccountId);

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(SnsLambdaEvent))]
[JsonSerializable(typeof(SnsRecord))]
[JsonSerializable(typeof(MarketplaceSnsMessage))]
[JsonSerializable(typeof(EventBridgeEnvelope))]
internal sealed partial class NotificationJsonContext : JsonSerializerContext;
