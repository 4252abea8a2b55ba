using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core.Billing;
using Monetization.Portal.Hosting;
using Monetization.Stripe.Webhooks;

namespace Monetization.Portal.Billing;

/// <summary><c>POST /stripe/webhook</c>: Stripe's events, verified on the raw body, applied once each.</summary>
public static class StripeWebhookEndpoints
{
    public const string Path = "/stripe/webhook";

    public static IEndpointRouteBuilder MapStripeWebhook(this IEndpointRouteBuilder app)
    {
        // Stripe signs its deliveries: the signature, not a form guard, proves where they come from.
        app.MapPost(Path, ReceiveAsync).WithBodyLimit(o => o.StripeWebhookMaxBodyBytes);
        return app;
    }

    private static async Task<Results<Ok<WebhookAnswer>, ProblemHttpResult, Conflict<WebhookAnswer>>> ReceiveAsync(
        HttpRequest request, StripeWebhookVerifier verifier, ApplyBillingEvent flow, CancellationToken cancellationToken)
    {
        // The signature covers the bytes as sent; reading the body any other way would re-encode them.
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, cancellationToken);
        var verification = verifier.Verify(body.GetBuffer().AsSpan(0, (int)body.Length), request.Headers["Stripe-Signature"].ToString());
        if (verification is not { IsValid: true, Event: { } stripeEvent })
        {
            return verification.Outcome switch
            {
                StripeWebhookOutcome.ApiVersionMismatch => TypedResults.Problem(
                    $"The event is written at another Stripe API version; create the webhook endpoint with api_version {StripeWebhookVerifier.ApiVersion}.",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Wrong API version"),
                StripeWebhookOutcome.MalformedPayload => TypedResults.Problem(
                    "The signed body is not a Stripe event.",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Not an event"),
                _ => TypedResults.Problem(
                    $"The Stripe-Signature header does not prove this body came from Stripe ({verification.Outcome}).",
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Invalid signature"),
            };
        }

        var outcome = await flow.ApplyAsync(
            new BillingEvent(stripeEvent.Id, stripeEvent.Type, stripeEvent.ObjectId, stripeEvent.SubscriptionId, stripeEvent.CustomerId),
            cancellationToken);
        var answer = new WebhookAnswer(stripeEvent.Id, outcome.ToString());

        // Stripe retries whatever is not a 2xx: an event still being applied by another delivery is asked for again.
        return outcome == BillingEventOutcome.InProgress ? TypedResults.Conflict(answer) : TypedResults.Ok(answer);
    }
}

public sealed record WebhookAnswer(
    [property: System.Text.Json.Serialization.JsonPropertyName("eventId")] string EventId,
    [property: System.Text.Json.Serialization.JsonPropertyName("outcome")] string Outcome);
