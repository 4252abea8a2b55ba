using System.Net;
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

                case ("GET", ["_emulator", "checkout", var id]):
                    await WriteCheckoutPageAsync(context, id, message: null);
                    return;

                case ("POST", ["_emulator", "checkout", var id]):
                    await PayOnCheckoutPageAsync(context, id);
                    return;

                case ("POST", ["_emulator", "checkout", "sessions", var id, "complete"]):
                {
                    var body = context.Request.ContentLength is > 0 ? await ReadControlAsync(context) : null;
                    var deliver = body?["deliver"]?.GetValue<bool>() ?? true;
                    var (session, events, deliveries) = await CompleteCheckoutAsync(id, deliver, ct);
                    var eventList = new JsonArray();
                    foreach (var e in events)
                    {
                        eventList.Add(new JsonObject { ["id"] = e.Id, ["type"] = e.Type });
                    }

                    var deliveryList = new JsonArray();
                    foreach (var d in deliveries)
                    {
                        deliveryList.Add(Describe(d));
                    }

                    await WriteControlAsync(context, 200, new JsonObject
                    {
                        ["session"] = StripeJson.CheckoutSession(session),
                        ["events"] = eventList,
                        ["deliveries"] = deliveryList,
                    });
                    return;
                }

                case ("GET", ["_emulator", "billing_portal", var id]):
                    await WritePortalPageAsync(context, id, message: null);
                    return;

                case ("POST", ["_emulator", "billing_portal", var id, "payment_method"]):
                    await UpdateCardOnPortalPageAsync(context, id);
                    return;

                case ("POST", ["_emulator", "billing_portal", var id, "cancel"]):
                    await CancelOnPortalPageAsync(context, id);
                    return;

                case ("GET", ["_emulator", "events"]):
                {
                    var list = new JsonArray();
                    foreach (var e in Events)
                    {
                        list.Add(JsonNode.Parse(e.Payload));
                    }

                    await WriteControlAsync(context, 200, new JsonObject { ["data"] = list });
                    return;
                }

                case ("POST", ["_emulator", "events", var id, "deliver"]):
                {
                    var delivery = await DeliverEventAsync(id, ct);
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

    /// <summary>
    /// Stripe's hosted payment page, reduced to a card form. The test card 4242 4242 4242 4242 pays; any other number is
    /// declined, as Stripe's test mode declines 4000 0000 0000 0002.
    /// </summary>
    private async Task PayOnCheckoutPageAsync(HttpContext context, string id)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (!IsTestCard(form))
        {
            await WriteCheckoutPageAsync(context, id, "Your card was declined. Use the test card 4242 4242 4242 4242.", StatusCodes.Status402PaymentRequired);
            return;
        }

        EmulatedCheckoutSession session;
        try
        {
            (session, _, _) = await CompleteCheckoutAsync(id, deliver: true, context.RequestAborted);
        }
        catch (ArgumentException)
        {
            await WriteCheckoutPageAsync(context, id, message: null);
            return;
        }

        var success = session.SuccessUrl?.Replace("{CHECKOUT_SESSION_ID}", session.Id, StringComparison.Ordinal);
        if (success is null)
        {
            await WriteHtmlAsync(context, 200, "<h1>Thanks for your order</h1><p id=\"paid\">Your subscription is active.</p>");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = success;
    }

    private async Task WriteCheckoutPageAsync(HttpContext context, string id, string? message, int status = StatusCodes.Status200OK)
    {
        EmulatedCheckoutSession session;
        try
        {
            session = _api.CheckoutSession(id, Now);
        }
        catch (StripeApiException)
        {
            await WriteHtmlAsync(context, 404, "<h1>Something went wrong</h1><p>The page you were looking for could not be found.</p>");
            return;
        }

        if (session.Status != "open")
        {
            await WriteHtmlAsync(context, 410, $"<h1 id=\"closed\">This checkout session is {WebUtility.HtmlEncode(session.Status)}</h1>");
            return;
        }

        var cancel = session.CancelUrl is null ? string.Empty : $"<p><a id=\"cancel\" href=\"{WebUtility.HtmlEncode(session.CancelUrl)}\">Back</a></p>";
        var error = message is null ? string.Empty : $"<p id=\"card-error\" role=\"alert\">{WebUtility.HtmlEncode(message)}</p>";
        await WriteHtmlAsync(context, status, $$"""
            <h1>Subscribe</h1>
            <p>Metered price {{WebUtility.HtmlEncode(session.PriceId)}}: billed monthly for what you use.</p>
            {{error}}
            <form id="payment-form" method="post" action="/_emulator/checkout/{{WebUtility.HtmlEncode(session.Id)}}">
            <label for="cardNumber">Card number</label> <input id="cardNumber" name="cardNumber" autocomplete="cc-number" inputmode="numeric" placeholder="1234 1234 1234 1234">
            <label for="cardExpiry">Expiry</label> <input id="cardExpiry" name="cardExpiry" placeholder="MM / YY">
            <label for="cardCvc">CVC</label> <input id="cardCvc" name="cardCvc" placeholder="CVC">
            <label for="billingName">Name on card</label> <input id="billingName" name="billingName">
            <button id="submit" type="submit">Subscribe</button>
            </form>
            {{cancel}}
            """);
    }

    private static async Task WriteHtmlAsync(HttpContext context, int status, string body, string title = "Stripe Checkout (emulator)")
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>{body}</body></html>", context.RequestAborted);
    }

    /// <summary>The card number a hosted page's form was sent with is Stripe's test card 4242 4242 4242 4242.</summary>
    private static bool IsTestCard(IFormCollection form) =>
        new string(form["cardNumber"].ToString().Where(char.IsAsciiDigit).ToArray()) == "4242424242424242";

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
