using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.Stripe;

// The test-side HTTP control API (faults live in Faults/); README.md documents it.
public sealed partial class StripeEmulator
{
    private async Task HandleControlAsync(HttpContext context)
    {
        var segments = (context.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var ct = context.RequestAborted;
        try
        {
            switch (context.Request.Method, segments)
            {
                case ("POST", ["_emulator", "subscriptions", var id, "status"]):
                {
                    var body = await ReadControlAsync(context);
                    var status = body?["status"]?.GetValue<string>() ?? throw new ArgumentException("status is required.");
                    var deliver = body?["deliver"]?.GetValue<bool>() ?? true;
                    WebhookDelivery? delivery = null;
                    if (deliver)
                    {
                        delivery = await SetSubscriptionStatusAsync(id, status, ct);
                    }
                    else if (!SubscriptionStatuses.Contains(status, StringComparer.Ordinal))
                    {
                        throw new ArgumentException($"status must be one of {string.Join(", ", SubscriptionStatuses)}.");
                    }
                    else
                    {
                        Apply(id, status);
                    }

                    await WriteControlAsync(context, 200, new JsonObject
                    {
                        ["subscription"] = _api.SubscriptionJson(id),
                        ["delivery"] = Describe(delivery),
                    });
                    return;
                }

                case ("POST", ["_emulator", "subscriptions", var id, "events"]):
                {
                    var body = await ReadControlAsync(context);
                    var type = body?["type"]?.GetValue<string>() ?? throw new ArgumentException("type is required.");
                    var delivery = await SendSubscriptionEventAsync(id, type, ct);
                    await WriteControlAsync(context, 200, new JsonObject { ["delivery"] = Describe(delivery) });
                    return;
                }

                case ("PUT", ["_emulator", "webhook"]):
                {
                    var body = await ReadControlAsync(context);
                    var url = body?["url"]?.GetValue<string>();
                    WebhookUrl = url is null ? null : new Uri(url, UriKind.Absolute);
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }

                default:
                    await WriteControlAsync(context, 404, new JsonObject { ["error"] = "no such control endpoint" });
                    return;
            }
        }
        catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException or UriFormatException or FormatException)
        {
            await WriteControlAsync(context, 400, new JsonObject { ["error"] = e.Message });
        }
        catch (HttpRequestException e)
        {
            await WriteControlAsync(context, 502, new JsonObject { ["error"] = $"webhook delivery failed: {e.Message}" });
        }
    }

    private static JsonObject? Describe(WebhookDelivery? delivery) => delivery is null
        ? null
        : new JsonObject { ["eventId"] = delivery.EventId, ["type"] = delivery.Type, ["statusCode"] = delivery.StatusCode };

    private static async Task<JsonNode?> ReadControlAsync(HttpContext context) =>
        await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);

    private static async Task WriteControlAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(ControlJson), context.RequestAborted);
    }
}
