using System.Globalization;
using System.Text;
using System.Text.Json;
using Monetization.Core;
using Stripe;
using Checkout = Stripe.Checkout;

namespace Monetization.Stripe.Webhooks;

public enum StripeWebhookOutcome
{
    Valid,
    MissingSignature,
    MalformedSignature,
    SignatureMismatch,
    OutsideTolerance,
    MalformedPayload,

    /// <summary>Signed by Stripe, but written at another API version than the one the project reads (the endpoint's version is wrong).</summary>
    ApiVersionMismatch,
}

/// <summary>What the verified event says, as far as subscription handling needs it.</summary>
/// <param name="SubscriptionId">
/// The subscription the event's object is (a subscription) or names (a checkout session's <c>subscription</c>, an
/// invoice's <c>parent.subscription_details.subscription</c>).
/// </param>
/// <param name="ObjectId">The id of the event's object.</param>
public sealed record StripeWebhookEvent(string Id, string Type, DateTimeOffset Created, string? ObjectType, string? SubscriptionId, string? CustomerId, string? Status, string? ObjectId = null);

public sealed record StripeWebhookVerification(StripeWebhookOutcome Outcome, StripeWebhookEvent? Event)
{
    public bool IsValid => Outcome == StripeWebhookOutcome.Valid;
}

/// <summary>
/// Checks a <c>Stripe-Signature</c> header against the raw request body with Stripe.net's <see cref="EventUtility"/>
/// (HMAC-SHA256 keyed by the whole <c>whsec_</c> string over <c>"{t}.{body}"</c>, compared in constant time with every
/// <c>v1</c> the header carries, as Stripe sends several while a secret is being rolled), a timestamp within the
/// tolerance of now, and reads the event at the API version Stripe.net is pinned to. Every way a request can fail is
/// an outcome, never an exception: <see cref="EventUtility"/> throws on a missing header and on timestamps it cannot
/// convert, so the header's shape is checked first.
/// </summary>
public sealed class StripeWebhookVerifier
{
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromSeconds(EventUtility.DefaultTimeTolerance);

    private readonly string _secret;
    private readonly TimeProvider _timeProvider;
    private readonly TimeSpan _tolerance;

    public StripeWebhookVerifier(Secret webhookSecret, TimeProvider timeProvider, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(webhookSecret);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _secret = webhookSecret.Reveal();
        _timeProvider = timeProvider;
        _tolerance = tolerance ?? DefaultTolerance;
    }

    /// <summary>The API version events must be written at: Stripe.net's, which the webhook endpoint must be created with.</summary>
    public static string ApiVersion => StripeConfiguration.ApiVersion;

    /// <param name="payload">The body exactly as received: re-serialised JSON would not match the signature.</param>
    public StripeWebhookVerification Verify(ReadOnlySpan<byte> payload, string? signatureHeader) => Verify(Encoding.UTF8.GetString(payload), signatureHeader);

    public StripeWebhookVerification Verify(string payload, string? signatureHeader)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (string.IsNullOrWhiteSpace(signatureHeader))
        {
            return new(StripeWebhookOutcome.MissingSignature, null);
        }

        if (SignedAt(signatureHeader) is not { } signedAt)
        {
            return new(StripeWebhookOutcome.MalformedSignature, null);
        }

        try
        {
            // The signature alone (no time limit here): the window is judged below with the injected clock, so a
            // replay and a forgery get outcomes of their own.
            EventUtility.ValidateSignature(payload, signatureHeader, _secret, long.MaxValue, signedAt);
        }
        catch (StripeException)
        {
            return new(StripeWebhookOutcome.SignatureMismatch, null);
        }

        // A signature from the future is as suspect as a stale one: both mean a replay or a broken clock.
        if ((_timeProvider.GetUtcNow() - DateTimeOffset.FromUnixTimeSeconds(signedAt)).Duration() > _tolerance)
        {
            return new(StripeWebhookOutcome.OutsideTolerance, null);
        }

        Event stripeEvent;
        try
        {
            stripeEvent = EventUtility.ParseEvent(payload, throwOnApiVersionMismatch: false);
        }
        catch (Exception e) when (e is JsonException or StripeException or ArgumentException or InvalidOperationException or FormatException or InvalidCastException or NotSupportedException)
        {
            return new(StripeWebhookOutcome.MalformedPayload, null);
        }

        if (stripeEvent is not { Id: { Length: > 0 } id, Type: { Length: > 0 } type })
        {
            return new(StripeWebhookOutcome.MalformedPayload, null);
        }

        if (stripeEvent.ApiVersion is not { } version || !EventUtility.IsCompatibleApiVersion(version))
        {
            return new(StripeWebhookOutcome.ApiVersionMismatch, null);
        }

        return new(StripeWebhookOutcome.Valid, Read(id, type, stripeEvent));
    }

    /// <summary>The header's <c>t</c> when the header has one (a Unix time Stripe.net can convert) and at least one <c>v1</c>.</summary>
    private static long? SignedAt(string header)
    {
        long? timestamp = null;
        var signatures = 0;
        foreach (var part in header.Split(','))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                // Stripe.net refuses an element without a value; so does this check.
                return null;
            }

            var name = part[..equals].Trim();
            var value = part[(equals + 1)..];
            if (name == "t")
            {
                if (timestamp is not null || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                {
                    return null;
                }

                timestamp = seconds;
            }
            else if (name == "v1" && value.Length > 0)
            {
                signatures++;
            }
        }

        return signatures > 0 ? timestamp : null;
    }

    private static StripeWebhookEvent Read(string id, string type, Event stripeEvent)
    {
        var (objectType, objectId, subscriptionId, customerId, status) = stripeEvent.Data?.Object switch
        {
            Subscription s => (s.Object, s.Id, s.Id, s.CustomerId, s.Status),
            Checkout.Session c => (c.Object, c.Id, c.SubscriptionId, c.CustomerId, c.Status),
            Invoice i => (i.Object, i.Id, i.Parent?.SubscriptionDetails?.SubscriptionId, i.CustomerId, i.Status),
            IHasObject other => (other.Object, (other as IHasId)?.Id, null, null, null),
            _ => ((string?)null, (string?)null, (string?)null, (string?)null, (string?)null),
        };
        return new StripeWebhookEvent(
            id,
            type,
            new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc)),
            objectType,
            subscriptionId,
            customerId,
            status,
            objectId);
    }
}
