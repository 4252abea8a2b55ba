using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Monetization.Core;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Webhooks;

public enum StripeWebhookOutcome
{
    Valid,
    MissingSignature,
    MalformedSignature,
    SignatureMismatch,
    OutsideTolerance,
    MalformedPayload,
}

/// <summary>What the verified event says, as far as subscription handling needs it.</summary>
/// <param name="SubscriptionId">
/// The subscription the event's object is (a subscription) or names (a checkout session's <c>subscription</c>, an
/// invoice's <c>parent.subscription_details.subscription</c> since 2025-03-31.basil, else its older <c>subscription</c>).
/// </param>
/// <param name="ObjectId">The id of the event's object.</param>
public sealed record StripeWebhookEvent(string Id, string Type, DateTimeOffset Created, string? ObjectType, string? SubscriptionId, string? CustomerId, string? Status, string? ObjectId = null);

public sealed record StripeWebhookVerification(StripeWebhookOutcome Outcome, StripeWebhookEvent? Event)
{
    public bool IsValid => Outcome == StripeWebhookOutcome.Valid;
}

/// <summary>
/// Checks a <c>Stripe-Signature</c> header against the raw request body: HMAC-SHA256 keyed by the whole
/// <c>whsec_</c> string over <c>"{t}.{body}"</c>, compared in constant time with every <c>v1</c> the header
/// carries (Stripe sends several while a secret is being rolled), and a timestamp within the tolerance of now.
/// </summary>
public sealed class StripeWebhookVerifier
{
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromSeconds(300);

    private readonly byte[] _key;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _tolerance;

    public StripeWebhookVerifier(Secret webhookSecret, TimeProvider timeProvider, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(webhookSecret);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _key = Encoding.UTF8.GetBytes(webhookSecret.Reveal());
        _timeProvider = timeProvider;
        _tolerance = tolerance ?? DefaultTolerance;
    }

    public StripeWebhookVerification Verify(string payload, string? signatureHeader)
    {
        ArgumentNullException.ThrowIfNull(payload);
        return Verify(Encoding.UTF8.GetBytes(payload), signatureHeader);
    }

    /// <param name="payload">The body exactly as received: re-serialised JSON would not match the signature.</param>
    public StripeWebhookVerification Verify(ReadOnlySpan<byte> payload, string? signatureHeader)
    {
        if (string.IsNullOrWhiteSpace(signatureHeader))
        {
            return new(StripeWebhookOutcome.MissingSignature, null);
        }

        if (!TryParseHeader(signatureHeader, out var timestamp, out var signatures))
        {
            return new(StripeWebhookOutcome.MalformedSignature, null);
        }

        var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(ComputeMac(timestamp, payload)));
        var matched = false;
        foreach (var signature in signatures)
        {
            // Every candidate is compared, so the time taken does not reveal which one matched.
            matched |= CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature));
        }

        if (!matched)
        {
            return new(StripeWebhookOutcome.SignatureMismatch, null);
        }

        // A signature from the future is as suspect as a stale one: both mean a replay or a broken clock.
        var age = _timeProvider.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(timestamp);
        if (age.Duration() > _tolerance)
        {
            return new(StripeWebhookOutcome.OutsideTolerance, null);
        }

        var parsed = Parse(payload);
        return parsed is null ? new(StripeWebhookOutcome.MalformedPayload, null) : new(StripeWebhookOutcome.Valid, parsed);
    }

    private byte[] ComputeMac(long timestamp, ReadOnlySpan<byte> payload)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, _key);
        hmac.AppendData(Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + "."));
        hmac.AppendData(payload);
        return hmac.GetHashAndReset();
    }

    private static bool TryParseHeader(string header, out long timestamp, out List<string> signatures)
    {
        timestamp = 0;
        signatures = [];
        var haveTimestamp = false;
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var name = part[..equals];
            var value = part[(equals + 1)..];
            if (name == "t" && !haveTimestamp)
            {
                haveTimestamp = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out timestamp);
                if (!haveTimestamp)
                {
                    return false;
                }
            }
            else if (name == "v1" && value.Length > 0)
            {
                signatures.Add(value);
            }
        }

        return haveTimestamp && signatures.Count > 0;
    }

    private static StripeWebhookEvent? Parse(ReadOnlySpan<byte> payload)
    {
        StripeEventEnvelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize(payload, StripeJsonContext.Default.StripeEventEnvelope);
        }
        catch (JsonException)
        {
            return null;
        }

        if (envelope is not { Id: { Length: > 0 } id, Type: { Length: > 0 } type })
        {
            return null;
        }

        var data = envelope.Data?.Object;
        var objectType = Text(data, "object");
        var objectId = Text(data, "id");
        var subscriptionId = objectType switch
        {
            "subscription" => objectId,
            "checkout.session" => Text(data, "subscription"),
            "invoice" => Text(Child(Child(data, "parent"), "subscription_details"), "subscription") ?? Text(data, "subscription"),
            _ => null,
        };
        return new StripeWebhookEvent(
            id,
            type,
            DateTimeOffset.FromUnixTimeSeconds(envelope.Created),
            objectType,
            subscriptionId,
            Text(data, "customer"),
            Text(data, "status"),
            objectId);
    }

    private static JsonElement? Child(JsonElement? element, string property) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Object
            ? value
            : null;

    private static string? Text(JsonElement? element, string property) =>
        element is { ValueKind: JsonValueKind.Object } e && e.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}

public sealed record StripeEventEnvelope
{
    public string? Id { get; init; }

    public string? Type { get; init; }

    public long Created { get; init; }

    public StripeEventData? Data { get; init; }
}

public sealed record StripeEventData
{
    public JsonElement? Object { get; init; }
}
