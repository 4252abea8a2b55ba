using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Stripe;

namespace Monetization.Tests.Billing;

/// <summary>Signup with Stripe Checkout on the real Portal, moto and the Stripe emulator: no access before payment.</summary>
public sealed class CheckoutEndToEndTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RegisteringShowsTheKeyOnceDisabledWithACheckoutForTheMeteredPriceAndStartsNoSubscription()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-shown@example.com";

        var (body, keyId) = await portal.RegisterAwaitingPaymentAsync(email);

        Assert.Equal("awaiting_payment", body.GetProperty("status").GetString());
        var key = Assert.Single(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == keyId);
        Assert.Equal(key.Value, body.GetProperty("apiKey").GetString());
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        var session = portal.SessionOf(email);
        Assert.Equal(session.Url, body.GetProperty("checkoutUrl").GetString());
        Assert.Equal("subscription", session.Mode);
        Assert.Equal(portal.Environment.PriceId, session.PriceId);
        var customer = Assert.Single(portal.Stripe.Customers, c => c.Email == email);
        Assert.Equal(customer.Id, session.CustomerId);
        Assert.Equal(keyId, customer.Metadata["awsAPIKeyId"]);
        Assert.Equal(CheckoutPortalFixture.SubscriberIdOf(email), session.Metadata["subscriberId"]);
        Assert.Contains("session_id={CHECKOUT_SESSION_ID}", session.SuccessUrl, StringComparison.Ordinal);
        Assert.DoesNotContain(portal.Stripe.Subscriptions, s => s.CustomerId == customer.Id);
        var record = await portal.RecordAsync(email);
        Assert.Equal(SubscriberStatus.Pending, record!.Status);
        Assert.True(record.Registered);
        Assert.DoesNotContain(key.Value, JsonSerializer.Serialize(record), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReturningFromAPaidCheckoutActivatesTheKeyAndRecordsTheSubscription()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-return@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: false, Ct);

        using var page = await portal.Http.GetAsync(new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal)), Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("payment-complete", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        var record = await portal.RecordAsync(email);
        Assert.Equal(SubscriberStatus.Active, record!.Status);
        Assert.Equal(paid.SubscriptionId, record.StripeSubscriptionId);
        Assert.Equal(record.Id, await portal.PointerAsync(paid.SubscriptionId!));
    }

    [Fact]
    public async Task TheCheckoutCompletedWebhookActivatesTheKeyWhenTheSubscriberNeverReturns()
    {
        portal.DeliverWebhooks(true);
        const string email = "checkout-webhook@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);

        var (_, events, deliveries) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: true, Ct);

        Assert.Equal(["customer.subscription.created", "invoice.created", "invoice.finalized", "invoice.paid", "checkout.session.completed"], events.Select(e => e.Type));
        Assert.All(deliveries, d => Assert.Equal(200, d.StatusCode));
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
    }

    [Fact]
    public async Task ReturnAndWebhooksInAnyOrderAndRedeliveredActivateOnce()
    {
        portal.DeliverWebhooks(true);
        const string email = "checkout-any-order@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, events, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: false, Ct);

        var completed = await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "checkout.session.completed").Id, Ct);
        foreach (var e in events.Reverse())
        {
            Assert.Equal(200, (await portal.Stripe.DeliverEventAsync(e.Id, Ct)).StatusCode);
        }

        using var page = await portal.Http.GetAsync(new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal)), Ct);
        var again = await portal.Stripe.DeliverEventAsync(completed.EventId, Ct);

        Assert.Equal(200, completed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal(200, again.StatusCode);
        Assert.Equal("Duplicate", JsonNode.Parse(await RedeliveryAnswerAsync(completed.EventId))!["outcome"]!.GetValue<string>());
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.True(await portal.LedgerHasAsync($"IDEM#stripe-event#{completed.EventId}"));
    }

    [Fact]
    public async Task AnAbandonedCheckoutLeavesNoWorkingKeyAndRegisteringAgainResumesPaymentWithoutTheKey()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-abandoned@example.com";
        var (body, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var keyValue = body.GetProperty("apiKey").GetString()!;
        var first = portal.SessionOf(email);

        using var again = await portal.RegisterAsync(email);
        var problem = await again.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("Payment pending", problem.GetProperty("title").GetString());
        Assert.Equal(first.Url, problem.GetProperty("checkoutUrl").GetString());
        Assert.DoesNotContain(keyValue, problem.GetRawText(), StringComparison.Ordinal);
        Assert.Equal((false, false), await portal.AccessAsync(keyId));

        // Once the checkout expired, the next registration opens a new one; paying it activates the key shown first.
        using var expire = await StripeApiAsync(HttpMethod.Post, $"/v1/checkout/sessions/{first.Id}/expire");
        Assert.Equal(HttpStatusCode.OK, expire.StatusCode);
        using var resumed = await portal.RegisterAsync(email);
        var resumedUrl = (await resumed.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("checkoutUrl").GetString();
        var second = portal.SessionOf(email);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(second.Url, resumedUrl);
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(second.Id, deliver: false, Ct);
        using var page = await portal.Http.GetAsync(new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal)), Ct);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Single(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == keyId);
    }

    [Fact]
    public async Task RegisteringAgainAfterPayingIsAConflictThatNeverRevealsTheKey()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-paid-again@example.com";
        var (body, _) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: false, Ct);

        // Neither the return nor the webhook arrived: the registration finds the paid checkout and applies it.
        using var again = await portal.RegisterAsync(email);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal("Already registered", (await again.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("title").GetString());
        Assert.DoesNotContain(body.GetProperty("apiKey").GetString()!, await again.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal((true, true), await portal.AccessAsync(body.GetProperty("apiKeyId").GetString()!));
        Assert.Equal(paid.SubscriptionId, (await portal.RecordAsync(email))!.StripeSubscriptionId);
    }

    [Fact]
    public async Task ReturningWithAnUnpaidOrUnknownCheckoutChangesNothing()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-unpaid@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var open = portal.SessionOf(email);

        using var unpaid = await portal.Http.GetAsync(new Uri($"/checkout/return?session_id={open.Id}", UriKind.Relative), Ct);
        using var unknown = await portal.Http.GetAsync(new Uri("/checkout/return?session_id=cs_test_doesnotexist", UriKind.Relative), Ct);
        using var garbage = await portal.Http.GetAsync(new Uri("/checkout/return?session_id=../../v1/customers", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, unpaid.StatusCode);
        Assert.Contains("payment-cancelled", await unpaid.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, garbage.StatusCode);
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        Assert.Equal(SubscriberStatus.Pending, (await portal.RecordAsync(email))!.Status);
    }

    [Fact]
    public async Task AccessFollowsTheSubscriptionThroughPastDueUnpaidRestoredAndCanceled()
    {
        portal.DeliverWebhooks(true);
        const string email = "checkout-lifecycle@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: true, Ct);
        var subscriptionId = paid.SubscriptionId!;

        // Past due within the grace period (72 hours by default): access stays while Stripe retries the payment.
        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "past_due", Ct))!.StatusCode);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.NotNull((await portal.RecordAsync(email))!.PastDueSince);

        // Access ends at once; the key settles in its plan until its usage is billed.
        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "unpaid", Ct))!.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.NotNull((await portal.RecordAsync(email))!.SettlingSince);
        Assert.Equal(SubscriberStatus.Suspended, (await portal.RecordAsync(email))!.Status);

        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "active", Ct))!.StatusCode);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Null((await portal.RecordAsync(email))!.PastDueSince);
        Assert.Null((await portal.RecordAsync(email))!.SettlingSince);

        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "canceled", Ct))!.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.Equal(SubscriberStatus.Cancelled, (await portal.RecordAsync(email))!.Status);
    }

    /// <summary>A subscriber who paid at checkout (webhooks on) and whose key API Gateway counted <paramref name="units"/> requests for today.</summary>
    private async Task<(string KeyId, string SubscriptionId, string CustomerId)> PaidSubscriberWithUsageAsync(string email, long units)
    {
        portal.DeliverWebhooks(true);
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: true, Ct);
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, DateOnly.FromDateTime(DateTime.UtcNow), units);
        return (keyId, paid.SubscriptionId!, (await portal.RecordAsync(email))!.StripeCustomerId!);
    }

    [Fact]
    public async Task UsageOfACanceledSubscriptionIsInvoicedOnTheCustomerBeforeTheKeyLeavesThePlan()
    {
        const string email = "checkout-final-usage@example.com";
        var (keyId, subscriptionId, customerId) = await PaidSubscriberWithUsageAsync(email, 9);

        var canceled = await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "canceled", Ct);
        var redelivered = await portal.Stripe.DeliverEventAsync(canceled!.EventId, Ct);

        Assert.Equal(200, canceled.StatusCode);
        Assert.Equal(200, redelivered.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.Equal(SubscriberStatus.Cancelled, (await portal.RecordAsync(email))!.Status);

        // No subscription would invoice meter events now: the units become an invoice item, then, once nothing is left
        // to bill, an invoice of their own, and the key leaves the plan.
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);

        Assert.DoesNotContain(portal.Stripe.MeterEvents, e => e.CustomerId == customerId);
        var item = Assert.Single(portal.Stripe.InvoiceItems, i => i.CustomerId == customerId);
        Assert.Equal(9, item.Quantity);
        var invoice = Assert.Single(portal.Stripe.Invoices, i => i.CustomerId == customerId && i.SubscriptionId is null);
        Assert.Equal(invoice.Id, item.InvoiceId);
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        Assert.Null((await portal.RecordAsync(email))!.SettlingSince);
    }

    [Fact]
    public async Task WhenStripeRefusesTheLastUsageTheKeyStaysSettlingAndTheNextReportBillsItOnce()
    {
        const string email = "checkout-final-usage-retry@example.com";
        var (keyId, subscriptionId, customerId) = await PaidSubscriberWithUsageAsync(email, 4);
        var unpaid = await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "unpaid", Ct);
        Assert.Equal(200, unpaid!.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));

        portal.Stripe.Faults.Add(new FaultRule { Method = "POST", PathPrefix = "/v1/billing/meter_events", Status = 500, Count = 50 });
        UsageReportSummary refused;
        try
        {
            refused = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        }
        finally
        {
            portal.Stripe.Faults.Clear();
        }

        Assert.True(refused.Failures > 0);
        Assert.DoesNotContain(portal.Stripe.MeterEvents, e => e.CustomerId == customerId);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));

        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);

        Assert.Equal(4, Assert.Single(portal.Stripe.MeterEvents, e => e.CustomerId == customerId).Value);
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        Assert.Equal(SubscriberStatus.Suspended, (await portal.RecordAsync(email))!.Status);
    }

    [Fact]
    public async Task ALateDeliveryOfAnOlderEventCannotRestoreACanceledSubscription()
    {
        portal.DeliverWebhooks(true);
        const string email = "checkout-out-of-order@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, events, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: false, Ct);
        Assert.Equal(200, (await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "checkout.session.completed").Id, Ct)).StatusCode);
        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(paid.SubscriptionId!, "canceled", Ct))!.StatusCode);

        // customer.subscription.created carried status active; it arrives after the cancellation.
        var late = await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "customer.subscription.created").Id, Ct);
        var lateInvoice = await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "invoice.paid").Id, Ct);

        Assert.Equal(200, late.StatusCode);
        Assert.Equal(200, lateInvoice.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
    }

    [Fact]
    public async Task EndingASubscriptionWithdrawsAccessAtOnceAndCancelsWithAFinalInvoiceOnlyOnceItsUsageSettled()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-ended@example.com";
        var (_, keyId) = await portal.RegisterAwaitingPaymentAsync(email);
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(portal.SessionOf(email).Id, deliver: false, Ct);
        using (await portal.Http.GetAsync(new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal)), Ct))
        {
        }

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, today, 6);

        var outcome = await portal.Services.GetRequiredService<EndSubscription>().EndAsync(CheckoutPortalFixture.SubscriberIdOf(email), Ct);

        // Access ends at once; the key settles in its plan and the subscription stays until its usage is billed.
        Assert.Equal(EndSubscriptionOutcome.Ending, outcome);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.Equal("active", portal.Stripe.Subscriptions.Single(s => s.Id == paid.SubscriptionId).Status);
        Assert.Equal(EndSubscriptionOutcome.Ending, await portal.Services.GetRequiredService<EndSubscription>().EndAsync(CheckoutPortalFixture.SubscriberIdOf(email), Ct));

        // Requests the key served before it stopped show in GetUsage after the end: they are billed all the same.
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, today, 3);
        var billed = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        var customerId = (await portal.RecordAsync(email))!.StripeCustomerId;
        Assert.Equal(9, Assert.Single(portal.Stripe.MeterEvents, e => e.CustomerId == customerId).Value);
        Assert.Equal("active", portal.Stripe.Subscriptions.Single(s => s.Id == paid.SubscriptionId).Status);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));

        // The next report finds nothing left to bill: the subscription is canceled with its final invoice, the key leaves its plan.
        var settled = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        Assert.Equal(0, billed.Failures);
        Assert.True(settled.Stripe.KeysSettled >= 1);
        var requests = portal.Stripe.Requests.ToList();
        Assert.True(
            requests.FindIndex(r => r.Method == "POST" && r.Path == "/v1/billing/meter_events") < requests.FindIndex(r => r.Method == "DELETE" && r.Path == $"/v1/subscriptions/{paid.SubscriptionId}"),
            "the last usage is reported before the cancellation's final invoice");
        Assert.Equal("canceled", portal.Stripe.Subscriptions.Single(s => s.Id == paid.SubscriptionId).Status);
        Assert.Contains(portal.Stripe.Invoices, i => i.SubscriptionId == paid.SubscriptionId && i.BillingReason == "subscription_cycle");
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        var record = (await portal.RecordAsync(email))!;
        Assert.Null(record.SettlingSince);
        Assert.NotNull(record.EndRequestedAt);
    }

    [Fact]
    public async Task AFormPostWithoutJavaScriptShowsTheKeyWithContinueToPaymentAndAResubmissionOnlyTheWayToPay()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-form@example.com";

        using var first = await PostSignupFormAsync(email);
        using var second = await PostSignupFormAsync(email);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var shown = await first.Content.ReadAsStringAsync(Ct);
        var key = Assert.Single(await portal.Environment.ApiKeysAsync(Ct), k => k.Name == Monetization.Core.Registration.RegisterSubscriber.KeyHolderFor(ParsedEmail(email)).KeyName);
        var checkoutUrl = portal.SessionOf(email).Url;
        Assert.Contains($">{key.Value}</code>", shown, StringComparison.Ordinal);
        Assert.Contains($"id=\"continue-to-payment\" href=\"{checkoutUrl}\"", shown, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        var resubmitted = await second.Content.ReadAsStringAsync(Ct);
        Assert.Contains($"href=\"{checkoutUrl}\"", resubmitted, StringComparison.Ordinal);
        Assert.DoesNotContain(key.Value, resubmitted, StringComparison.Ordinal);
    }

    private static Monetization.Core.Registration.Email ParsedEmail(string email) =>
        Monetization.Core.Registration.Email.TryParse(email, out var parsed, out _) ? parsed! : throw new ArgumentException(email);

    private async Task<HttpResponseMessage> PostSignupFormAsync(string email)
    {
        using var page = await portal.Http.GetAsync(new Uri("/", UriKind.Relative), Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        var token = System.Text.RegularExpressions.Regex.Match(html, "name=\"__antiforgery\" value=\"([^\"]+)\"").Groups[1].Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__antiforgery"] = token,
            ["email"] = email,
            ["firstname"] = "Ada",
            ["lastname"] = "Lovelace",
        });
        return await portal.Http.PostAsync(new Uri("/register", UriKind.Relative), form, Ct);
    }

    private async Task<string> RedeliveryAnswerAsync(string eventId)
    {
        var stored = portal.Stripe.Events.Single(e => e.Id == eventId);
        using var response = await portal.PostWebhookAsync(stored.Payload, StripeWebhookSignature.Compute(portal.Stripe.WebhookSecret, stored.Payload, DateTimeOffset.UtcNow));
        return await response.Content.ReadAsStringAsync(Ct);
    }

    private async Task<HttpResponseMessage> StripeApiAsync(HttpMethod method, string path)
    {
        using var http = new HttpClient { BaseAddress = portal.Stripe.Endpoint };
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", portal.Stripe.SecretKey);
        return await http.SendAsync(request, Ct);
    }
}
