using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Emulators.Stripe;
using Stripe;

namespace Monetization.Tests.Billing;

/// <summary><c>POST /stripe/webhook</c> on the real Portal: the signature decides whether anything happens.</summary>
public sealed class StripeWebhookEndpointTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> BadSignatures => ["wrong secret", "stale", "from the future", "tampered body", "no v1", "missing"];

    [Theory]
    [MemberData(nameof(BadSignatures))]
    public async Task AnEventThatIsNotProvablyStripesIsRefusedWith400AndChangesNothing(string kind)
    {
        var (keyId, canceled) = await PaidThenCanceledWithoutDeliveryAsync($"webhook-bad-{kind.Replace(' ', '-')}@example.com");
        var payload = canceled.Payload;
        var secret = portal.Stripe.WebhookSecret;
        var now = DateTimeOffset.UtcNow;
        var (body, header) = kind switch
        {
            "wrong secret" => (payload, StripeWebhookSignature.Compute("whsec_someone_else", payload, now)),
            "stale" => (payload, StripeWebhookSignature.Compute(secret, payload, now.AddSeconds(-301))),
            // Well past the tolerance: the Portal's clock moves on between here and the check, which would bring 301 s
            // back inside it. The exact boundary is StripeWebhookTests' (on a fixed clock).
            "from the future" => (payload, StripeWebhookSignature.Compute(secret, payload, now.AddSeconds(360))),
            "tampered body" => (payload.Replace("\"canceled\"", "\"active\"", StringComparison.Ordinal), StripeWebhookSignature.Compute(secret, payload, now)),
            "no v1" => (payload, $"t={now.ToUnixTimeSeconds()}"),
            _ => (payload, string.Empty),
        };

        using var response = await portal.PostWebhookAsync(body, header);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.False(await portal.LedgerHasAsync($"IDEM#stripe-event#{canceled.Id}"));
    }

    [Fact]
    public async Task AnEventWrittenAtAnotherApiVersionIsRefusedWith400NamingTheVersionToUseAndChangesNothing()
    {
        var (keyId, canceled) = await PaidThenCanceledWithoutDeliveryAsync("webhook-basil@example.com");
        var payload = canceled.Payload.Replace("\"api_version\":\"2026-10-28.endive\"", "\"api_version\":\"2025-03-31.basil\"", StringComparison.Ordinal);
        Assert.NotEqual(canceled.Payload, payload);

        using var response = await portal.PostWebhookAsync(payload, StripeWebhookSignature.Compute(portal.Stripe.WebhookSecret, payload, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("api_version 2026-10-28.endive", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.False(await portal.LedgerHasAsync($"IDEM#stripe-event#{canceled.Id}"));
    }

    [Fact]
    public async Task WhileASecretIsRolledTheHeaderCarriesTwoSignaturesAndEitherMatchingIsEnough()
    {
        var (keyId, canceled) = await PaidThenCanceledWithoutDeliveryAsync("webhook-rotated@example.com");
        var now = DateTimeOffset.UtcNow;
        var ours = StripeWebhookSignature.Sign(portal.Stripe.WebhookSecret, now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), canceled.Payload);
        var rolledOut = StripeWebhookSignature.Sign("whsec_previous_secret", now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), canceled.Payload);

        using var response = await portal.PostWebhookAsync(canceled.Payload, $"t={now.ToUnixTimeSeconds()},v1={rolledOut},v1={ours}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
    }

    [Fact]
    public async Task AnEventTypeThatDoesNotTouchAccessIsAnswered200AndIgnored()
    {
        const string payload = """{"id":"evt_plan_created","object":"event","api_version":"2026-10-28.endive","type":"plan.created","created":1773144000,"data":{"object":{"id":"price_1","object":"plan"}}}""";

        using var response = await portal.PostWebhookAsync(payload, StripeWebhookSignature.Compute(portal.Stripe.WebhookSecret, payload, DateTimeOffset.UtcNow));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Ignored", (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("outcome").GetString());
    }

    [Fact]
    public async Task AnEventForASubscriptionNoSubscriberOwnsIsRecordedAndAnswered200()
    {
        // A subscription started by hand in the dashboard, for a customer this system never created.
        using var http = new HttpClient();
        var stripe = portal.Environment.StripeClient(http);
        var customer = await stripe.V1.Customers.CreateAsync(new CustomerCreateOptions(), new RequestOptions { IdempotencyKey = $"foreign-{Guid.NewGuid():N}" }, Ct);
        var subscription = await stripe.V1.Subscriptions.CreateAsync(
            new SubscriptionCreateOptions
            {
                Customer = customer.Id,
                Items = [new SubscriptionItemOptions { Price = portal.Environment.PriceId }],
                CollectionMethod = "send_invoice",
                DaysUntilDue = 30,
            },
            new RequestOptions { IdempotencyKey = $"foreign-sub-{Guid.NewGuid():N}" },
            Ct);
        portal.DeliverWebhooks(true);

        var delivery = await portal.Stripe.SendSubscriptionEventAsync(subscription.Id, "customer.subscription.updated", Ct);

        Assert.Equal(200, delivery.StatusCode);
        Assert.True(await portal.LedgerHasAsync($"IDEM#stripe-event#{delivery.EventId}"));
        Assert.Null(await portal.PointerAsync(subscription.Id));
        var answer = await RedeliverAsync(delivery.EventId);
        Assert.Equal("Duplicate", answer);
    }

    /// <summary>A subscriber who paid, and a cancellation Stripe recorded but has not delivered yet.</summary>
    private async Task<(string KeyId, EmulatedEvent Canceled)> PaidThenCanceledWithoutDeliveryAsync(string email)
    {
        portal.DeliverWebhooks(true);
        var (browser, session) = await portal.StartCheckoutAsync(email);
        browser.Dispose();
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: true, Ct);
        var keyId = await portal.KeyIdOf(email);
        portal.DeliverWebhooks(false);
        using var http = new HttpClient { BaseAddress = portal.Stripe.Endpoint };
        using var response = await http.PostAsJsonAsync(new Uri($"/_emulator/subscriptions/{paid.SubscriptionId}/status", UriKind.Relative), new { status = "canceled", deliver = false }, Ct);
        response.EnsureSuccessStatusCode();
        Assert.Equal((true, true), await portal.AccessAsync(keyId));

        // The emulator's record of the event as Stripe would send it.
        var created = portal.Stripe.Events.Last(e => e.Type == "customer.subscription.created" && e.Payload.Contains(paid.SubscriptionId!, StringComparison.Ordinal));
        var canceledPayload = created.Payload
            .Replace(created.Id, $"evt_cancel_{Guid.NewGuid():N}", StringComparison.Ordinal)
            .Replace("customer.subscription.created", "customer.subscription.deleted", StringComparison.Ordinal)
            .Replace("\"status\":\"active\"", "\"status\":\"canceled\"", StringComparison.Ordinal);
        var id = JsonDocument.Parse(canceledPayload).RootElement.GetProperty("id").GetString()!;
        return (keyId, new EmulatedEvent(id, "customer.subscription.deleted", created.Created, canceledPayload));
    }

    private async Task<string> RedeliverAsync(string eventId)
    {
        var delivery = await portal.Stripe.DeliverEventAsync(eventId, Ct);
        Assert.Equal(200, delivery.StatusCode);
        var stored = portal.Stripe.Events.Single(e => e.Id == eventId);
        using var response = await portal.PostWebhookAsync(stored.Payload, StripeWebhookSignature.Compute(portal.Stripe.WebhookSecret, stored.Payload, DateTimeOffset.UtcNow));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("outcome").GetString()!;
    }
}
