using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

// The meter list and the v2 meter event API (sessions and the high-throughput stream).
internal sealed partial class StripeApi
{
    private static readonly TimeSpan SessionLifetime = TimeSpan.FromMinutes(15);
    private static readonly HashSet<string> StreamEventFields = new(StringComparer.Ordinal) { "event_name", "identifier", "timestamp", "payload" };
    private readonly Dictionary<string, (string Id, DateTimeOffset ExpiresAt)> _sessions = new(StringComparer.Ordinal);

    public int MeterEventSessionsCreated
    {
        get
        {
            lock (_lock)
            {
                return _sessions.Count;
            }
        }
    }

    private JsonObject ListMeters(StripeParams p)
    {
        var status = p.OneOf("status", "active", "inactive");
        var page = Page.Read(p);
        p.RejectUnknown();
        var meters = status == "inactive" ? [] : _meters;
        return page.Apply(meters, m => m.Id, StripeJson.Meter, "/v1/billing/meters");
    }

    /// <summary>A session whose token authenticates the stream for 15 minutes (Stripe's documented lifetime).</summary>
    public JsonObject CreateMeterEventSession(DateTimeOffset now)
    {
        lock (_lock)
        {
            var id = NewId("mes_", 24);
            var token = NewId("ek_test_", 48);
            var expiresAt = now + SessionLifetime;
            _sessions[token] = (id, expiresAt);
            return new JsonObject
            {
                ["id"] = id,
                ["object"] = "v2.billing.meter_event_session",
                ["authentication_token"] = token,
                ["created"] = Iso(now),
                ["expires_at"] = Iso(expiresAt),
                ["livemode"] = false,
            };
        }
    }

    /// <returns>The refusal, or null when the token names a live session.</returns>
    public StripeApiException? CheckSession(string? token, DateTimeOffset now)
    {
        lock (_lock)
        {
            if (token is not null && _sessions.TryGetValue(token, out var session))
            {
                return session.ExpiresAt > now
                    ? null
                    : new StripeApiException(401, "temporary_session_expired", "The meter event session has expired. Create a new session.", "billing_meter_event_session_expired");
            }

            return new StripeApiException(401, "invalid_request_error", "The provided authentication token is not valid for the meter event stream.", "invalid_authentication_token");
        }
    }

    /// <summary>
    /// Validates the whole request first (Stripe refuses a malformed one as a whole), then records each event; an
    /// identifier seen in the last 24 hours is dropped silently, as the stream does.
    /// </summary>
    public void StreamMeterEvents(JsonNode? body, DateTimeOffset now)
    {
        if (body is not JsonObject root || root["events"] is not JsonArray events)
        {
            throw StripeApiException.Missing("events");
        }

        if (root.Any(p => p.Key != "events"))
        {
            throw StripeApiException.Unknown(root.First(p => p.Key != "events").Key);
        }

        if (events.Count is 0 or > 100)
        {
            throw StripeApiException.Invalid("events", "events must contain between 1 and 100 items.");
        }

        lock (_lock)
        {
            var parsed = new List<EmulatedMeterEvent>(events.Count);
            for (var i = 0; i < events.Count; i++)
            {
                parsed.Add(ReadStreamEvent(events[i] as JsonObject, $"events[{i}]", now));
            }

            var windowStart = (now - IdentifierWindow).ToUnixTimeSeconds();
            foreach (var meterEvent in parsed)
            {
                if (!IsKnownIdentifier(meterEvent.Identifier, windowStart))
                {
                    AddMeterEvent(meterEvent);
                }
            }
        }
    }

    private EmulatedMeterEvent ReadStreamEvent(JsonObject? wire, string at, DateTimeOffset now)
    {
        if (wire is null)
        {
            throw StripeApiException.Invalid(at, "Each event must be an object.");
        }

        if (wire.FirstOrDefault(p => !StreamEventFields.Contains(p.Key)) is { Key: { } unknown })
        {
            throw StripeApiException.Unknown($"{at}.{unknown}");
        }

        var eventName = wire["event_name"] is JsonValue name && name.GetValueKind() == JsonValueKind.String ? name.GetValue<string>() : throw StripeApiException.Missing($"{at}.event_name");
        var meter = _meters.FirstOrDefault(m => m.EventName == eventName)
            ?? throw new StripeApiException(400, Invalid, $"No active meter was found for event_name `{eventName}`.", "resource_missing", $"{at}.event_name");
        var identifier = wire["identifier"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>() : NewId("", 24);
        if (identifier.Length > 100)
        {
            throw StripeApiException.Invalid($"{at}.identifier", "Invalid identifier: must be at most 100 characters");
        }

        var timestamp = now;
        if (wire["timestamp"] is { } rawTimestamp)
        {
            if (rawTimestamp is not JsonValue text || text.GetValueKind() != JsonValueKind.String
                || !DateTimeOffset.TryParse(text.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out timestamp))
            {
                throw StripeApiException.Invalid($"{at}.timestamp", "timestamp must be an RFC 3339 date-time string.");
            }
        }

        if (timestamp < now - MeterEventMaxAge)
        {
            throw StripeApiException.Invalid($"{at}.timestamp", "Timestamp must be within the past 35 calendar days.");
        }

        if (timestamp > now + MeterEventMaxAhead)
        {
            throw StripeApiException.Invalid($"{at}.timestamp", "Timestamp must not be more than 5 minutes in the future.");
        }

        if (wire["payload"] is not JsonObject payload)
        {
            throw StripeApiException.Missing($"{at}.payload");
        }

        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, entry) in payload)
        {
            // The v2 payload is a map of strings, like v1's form-encoded one.
            entries[key] = entry is JsonValue v && v.GetValueKind() == JsonValueKind.String
                ? v.GetValue<string>()
                : throw StripeApiException.Invalid($"{at}.payload.{key}", "Payload values must be strings.");
        }

        var customerId = entries.GetValueOrDefault(meter.CustomerPayloadKey) ?? throw StripeApiException.Missing($"{at}.payload.{meter.CustomerPayloadKey}");
        var rawValue = entries.GetValueOrDefault(meter.ValuePayloadKey) ?? throw StripeApiException.Missing($"{at}.payload.{meter.ValuePayloadKey}");
        if (!long.TryParse(rawValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw StripeApiException.Invalid($"{at}.payload.{meter.ValuePayloadKey}", $"Invalid integer: {rawValue}", "parameter_invalid_integer");
        }

        FindCustomer(customerId, $"{at}.payload.{meter.CustomerPayloadKey}", 400);
        return new EmulatedMeterEvent(identifier, eventName, customerId, value, timestamp.ToUnixTimeSeconds(), now.ToUnixTimeSeconds(), entries);
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
