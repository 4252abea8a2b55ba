using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Monetization.Emulators.Stripe;

// Webhook endpoints as configuration (what preflight reads); deliveries go to the emulator's WebhookUrl, signed with
// its WebhookSecret, whatever endpoints exist.
internal sealed partial class StripeApi
{
    private readonly List<EmulatedWebhookEndpoint> _webhookEndpoints = [];

    public IReadOnlyList<EmulatedWebhookEndpoint> WebhookEndpoints => Snapshot(_webhookEndpoints);

    private JsonObject? DispatchWebhookEndpoints(string method, string[] path, StripeParams p, DateTimeOffset now) => (method, path) switch
    {
        ("POST", ["v1", "webhook_endpoints"]) => CreateWebhookEndpoint(p, now),
        ("GET", ["v1", "webhook_endpoints"]) => ListWebhookEndpoints(p),
        ("GET", ["v1", "webhook_endpoints", var id]) => Retrieve(p, () => WebhookEndpointJson(FindWebhookEndpoint(id), includeSecret: false)),
        ("POST", ["v1", "webhook_endpoints", var id]) => UpdateWebhookEndpoint(id, p),
        ("DELETE", ["v1", "webhook_endpoints", var id]) => DeleteWebhookEndpoint(id, p),
        _ => null,
    };

    private JsonObject CreateWebhookEndpoint(StripeParams p, DateTimeOffset now)
    {
        var url = WebhookUrl(p.Required("url"));
        var events = EnabledEvents(p) ?? throw StripeApiException.Missing("enabled_events");
        var apiVersion = p.Optional("api_version");
        if (apiVersion is not null && !ApiVersionPattern().IsMatch(apiVersion))
        {
            throw StripeApiException.Invalid("api_version", $"Invalid API version: {apiVersion}", "api_version_invalid");
        }

        var description = p.Optional("description");
        var metadata = p.Map("metadata");
        metadata.Validate("metadata");
        p.RejectUnknown();
        var endpoint = new EmulatedWebhookEndpoint(
            NewId("we_", 24), now.ToUnixTimeSeconds(), url, events, apiVersion, "enabled", description, NewId("whsec_", 32), metadata.ApplyTo(Empty));
        _webhookEndpoints.Add(endpoint);

        // Only the answer to the creation carries the signing secret, as at Stripe.
        return WebhookEndpointJson(endpoint, includeSecret: true);
    }

    private JsonObject ListWebhookEndpoints(StripeParams p)
    {
        var page = Page.Read(p);
        p.RejectUnknown();
        return page.Apply(_webhookEndpoints, e => e.Id, e => WebhookEndpointJson(e, includeSecret: false), "/v1/webhook_endpoints");
    }

    private JsonObject UpdateWebhookEndpoint(string id, StripeParams p)
    {
        var before = FindWebhookEndpoint(id);
        var url = p.Optional("url") is { } newUrl ? WebhookUrl(newUrl) : before.Url;
        var events = EnabledEvents(p) ?? before.EnabledEvents;
        var disabled = p.OptionalBoolean("disabled");
        var description = p.Optional("description") ?? before.Description;
        var metadata = p.Map("metadata");
        metadata.Validate("metadata");
        p.RejectUnknown();
        var after = before with
        {
            Url = url,
            EnabledEvents = events,
            Status = disabled switch { true => "disabled", false => "enabled", null => before.Status },
            Description = description,
            Metadata = metadata.ApplyTo(before.Metadata),
        };
        Replace(_webhookEndpoints, before, after);
        return WebhookEndpointJson(after, includeSecret: false);
    }

    private JsonObject DeleteWebhookEndpoint(string id, StripeParams p)
    {
        var endpoint = FindWebhookEndpoint(id);
        p.RejectUnknown();
        _webhookEndpoints.Remove(endpoint);
        return new JsonObject { ["id"] = endpoint.Id, ["object"] = "webhook_endpoint", ["deleted"] = true };
    }

    private EmulatedWebhookEndpoint FindWebhookEndpoint(string id) => Find(_webhookEndpoints, id, "webhook_endpoint", "id", 404, e => e.Id);

    /// <summary><c>enabled_events[0]=…</c> (Stripe's libraries) or <c>enabled_events[]=…</c> (curl); null when not given.</summary>
    private static List<string>? EnabledEvents(StripeParams p)
    {
        var events = p.Indices("enabled_events").Select(i => p.Required($"enabled_events[{i}]")).ToList();
        if (p.Optional("enabled_events[]") is { } single)
        {
            events.Add(single);
        }

        if (events.Count == 0)
        {
            return null;
        }

        var unknown = events.FirstOrDefault(e => e != "*" && !EventTypePattern().IsMatch(e));
        return unknown is null ? events : throw StripeApiException.Invalid("enabled_events", $"Invalid event type: {unknown}");
    }

    private static string WebhookUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https"
            ? url
            : throw StripeApiException.Invalid("url", "Invalid URL: must be an absolute http(s) URL", "url_invalid");

    private static JsonObject WebhookEndpointJson(EmulatedWebhookEndpoint e, bool includeSecret)
    {
        var json = new JsonObject
        {
            ["id"] = e.Id,
            ["object"] = "webhook_endpoint",
            ["api_version"] = e.ApiVersion,
            ["application"] = null,
            ["created"] = e.Created,
            ["description"] = e.Description,
            ["enabled_events"] = new JsonArray([.. e.EnabledEvents.Select(x => (JsonNode?)JsonValue.Create(x))]),
            ["livemode"] = false,
            ["metadata"] = new JsonObject([.. e.Metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)JsonValue.Create(kv.Value)))]),
            ["status"] = e.Status,
            ["url"] = e.Url,
        };
        if (includeSecret)
        {
            json["secret"] = e.Secret;
        }

        return json;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}\.[a-z]+$")]
    private static partial Regex ApiVersionPattern();

    [GeneratedRegex(@"^[a-z_]+(\.[a-z_]+)+$")]
    private static partial Regex EventTypePattern();
}
