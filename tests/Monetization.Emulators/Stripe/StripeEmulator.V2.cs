using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Monetization.Emulators.Faults;

namespace Monetization.Emulators.Stripe;

// The v2 billing meter event endpoints: JSON in and out. Sessions authenticate with the secret key; the stream (served
// here on the same port, meter-events.stripe.com at Stripe) with a session's token and answers 200 with an empty
// object, as Stripe's API reference shows and its SDKs (which take only 200 as success) expect.
public sealed partial class StripeEmulator
{
    /// <summary>How many meter event sessions were created.</summary>
    public int MeterEventSessionsCreated => _api.MeterEventSessionsCreated;

    private async Task HandleV2Async(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        var fault = Faults.Take(context.Request.Method, path, FaultPhase.After);
        if (await FaultMiddleware.ApplyAsync(context, fault, FaultBody, _stopping.Token))
        {
            return;
        }

        if (!HttpMethods.IsPost(context.Request.Method))
        {
            await WriteAsync(context, Error(new StripeApiException(404, "invalid_request_error", $"Unrecognized request URL ({context.Request.Method}: {path}).")));
            return;
        }

        if (!(context.Request.ContentType ?? string.Empty).StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await WriteAsync(context, Error(new StripeApiException(400, "invalid_request_error", "v2 endpoints take application/json bodies.")));
            return;
        }

        JsonNode? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            await WriteAsync(context, Error(new StripeApiException(400, "invalid_request_error", "The request body is not valid JSON.")));
            return;
        }

        switch (path)
        {
            case "/v2/billing/meter_event_session":
                if (Authenticate(context.Request) is { } denied)
                {
                    await WriteAsync(context, denied);
                    return;
                }

                await WriteAsync(context, new ApiOutcome(200, _api.CreateMeterEventSession(Now).ToJsonString(), new Dictionary<string, string>(), false));
                return;
            case "/v2/billing/meter_event_stream":
                var header = context.Request.Headers.Authorization.ToString();
                var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
                if (_api.CheckSession(token, Now) is { } refused)
                {
                    await WriteAsync(context, Error(refused));
                    return;
                }

                try
                {
                    _api.StreamMeterEvents(body, Now);
                }
                catch (StripeApiException e)
                {
                    await WriteAsync(context, Error(e));
                    return;
                }

                await WriteAsync(context, new ApiOutcome(200, "{}", new Dictionary<string, string>(), false));
                return;
            default:
                await WriteAsync(context, Error(new StripeApiException(404, "invalid_request_error", $"Unrecognized request URL (POST: {path}).")));
                return;
        }
    }
}
