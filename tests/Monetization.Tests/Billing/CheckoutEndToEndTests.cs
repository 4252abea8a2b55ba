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
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Billing;

/// <summary>Signup with Stripe Checkout on the real Portal, moto and the Stripe emulator: no access before payment.</summary>
public sealed class CheckoutEndToEndTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SubscribingOpensACheckoutForTheMeteredPriceAndCreatesNoKeyAndNoSubscription()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-shown@example.com";

        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;

        Assert.Equal("subscription", session.Mode);
        Assert.Equal(portal.Environment.PriceId, session.PriceId);
        var customer = Assert.Single(portal.Stripe.Customers, c => c.Email == email);
        Assert.Equal(customer.Id, session.CustomerId);
        Assert.Equal(CheckoutPortalFixture.SubscriberIdOf(email), customer.Metadata["subscriberId"]);
        Assert.Equal(CheckoutPortalFixture.SubscriberIdOf(email), session.Metadata["subscriberId"]);
        Assert.Contains("session_id={CHECKOUT_SESSION_ID}", session.SuccessUrl, StringComparison.Ordinal);
        Assert.DoesNotContain(portal.Stripe.Subscriptions, s => s.CustomerId == customer.Id);
        Assert.Empty(await portal.KeysNamedFor(email));
        var record = await portal.RecordAsync(email);
        Assert.Equal(SubscriberStatus.Pending, record!.Status);
        Assert.Equal(customer.Id, record.StripeCustomerId);
        Assert.Null(record.ApiKeyId);
        Assert.Equal("Waiting for payment", AccountBrowser.StatusOn(await browser.AccountPageAsync()));
    }

    [Fact]
    public async Task ReturningFromAPaidCheckoutMintsTheKeyShowsItOnceAndRecordsTheSubscription()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-return@example.com";
        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Ct);

        using var returned = await portal.ReturnAsync(browser, paid);

        Assert.Equal(HttpStatusCode.SeeOther, returned.StatusCode);
        Assert.Equal("/account", returned.Headers.Location?.OriginalString);
        var keyId = await portal.KeyIdOf(email);
        var shown = await browser.KeyOnceMintedAsync();
        Assert.Equal(keyId, shown?.Id);
        Assert.Equal(Assert.Single(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == keyId).Value, shown?.Value);
        Assert.Null(await browser.KeyOnceMintedAsync());
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        var record = await portal.RecordAsync(email);
        Assert.Equal(SubscriberStatus.Active, record!.Status);
        Assert.Equal(paid.SubscriptionId, record.StripeSubscriptionId);
        Assert.Equal(record.Id, await portal.PointerAsync(paid.SubscriptionId!));
        Assert.Equal(keyId, Assert.Single(portal.Stripe.Customers, c => c.Email == email).Metadata["awsAPIKeyId"]);
        Assert.DoesNotContain(shown!.Value.Value, JsonSerializer.Serialize(record), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCheckoutCompletedWebhookMintsTheKeyWhenTheSubscriberNeverReturnsAndTheAccountShowsItOnce()
    {
        portal.DeliverWebhooks(true);
        const string email = "checkout-webhook@example.com";
        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;

        var (_, events, deliveries) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: true, Ct);

        Assert.Equal(["customer.subscription.created", "invoice.created", "invoice.finalized", "invoice.paid", "checkout.session.completed"], events.Select(e => e.Type));
        Assert.All(deliveries, d => Assert.Equal(200, d.StatusCode));
        var keyId = await portal.KeyIdOf(email);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Equal(keyId, (await browser.KeyOnceMintedAsync())?.Id);
    }

    [Fact]
    public async Task ReturnAndWebhooksInAnyOrderAndRedeliveredMintOneKeyAndActivateOnce()
    {
        portal.DeliverWebhooks(true);
        const string email = "checkout-any-order@example.com";
        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;
        var (paid, events, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Ct);

        var completed = await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "checkout.session.completed").Id, Ct);
        var returning = portal.ReturnAsync(browser, paid);
        foreach (var e in events.Reverse())
        {
            Assert.Equal(200, (await portal.Stripe.DeliverEventAsync(e.Id, Ct)).StatusCode);
        }

        using var page = await returning;
        var again = await portal.Stripe.DeliverEventAsync(completed.EventId, Ct);

        Assert.Equal(200, completed.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, page.StatusCode);
        Assert.Equal(200, again.StatusCode);
        Assert.Equal("Duplicate", JsonNode.Parse(await RedeliveryAnswerAsync(completed.EventId))!["outcome"]!.GetValue<string>());
        // The key is made by the key minting queue's consumer: once it recorded one and finished every request the
        // grants sent, exactly one key carries the subscriber's name.
        var keyId = await portal.KeyIdOf(email);
        await portal.Minting.Source.WhenDrainedAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal([keyId], await portal.KeysNamedFor(email));
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.True(await portal.LedgerHasAsync($"IDEM#stripe-event#{completed.EventId}"));
    }

    [Fact]
    public async Task AnAbandonedCheckoutLeavesNoKeyAndSubscribingAgainResumesItOrOpensANewOne()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-abandoned@example.com";
        var (browser, first) = await portal.StartCheckoutAsync(email);
        using var _ = browser;

        using var again = await browser.PressAsync("/account/subscribe");

        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
        Assert.Equal(first.Url, again.Headers.Location?.ToString());
        Assert.Empty(await portal.KeysNamedFor(email));

        // Once the checkout expired, the next press opens a new one; paying it mints the key.
        using var expire = await StripeApiAsync(HttpMethod.Post, $"/v1/checkout/sessions/{first.Id}/expire");
        Assert.Equal(HttpStatusCode.OK, expire.StatusCode);
        using var resumed = await browser.PressAsync("/account/subscribe");
        var second = portal.SessionOf(email);
        Assert.NotEqual(first.Id, second.Id);
        Assert.Equal(second.Url, resumed.Headers.Location?.ToString());
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(second.Id, deliver: false, Ct);
        using var page = await portal.ReturnAsync(browser, paid);
        var keyId = await portal.KeyIdOf(email);
        Assert.Equal([keyId], await portal.KeysNamedFor(email));
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Single(portal.Stripe.Customers, c => c.Email == email);
    }

    [Fact]
    public async Task PressingSubscribeAfterPayingAppliesThePaidCheckoutWhenItsReturnAndWebhookWereLost()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-paid-again@example.com";
        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Ct);

        using var again = await browser.PressAsync("/account/subscribe");

        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
        Assert.Equal("/account", again.Headers.Location?.OriginalString);
        var keyId = await portal.KeyIdOf(email);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Equal(paid.SubscriptionId, (await portal.RecordAsync(email))!.StripeSubscriptionId);
        Assert.Equal(keyId, (await browser.KeyOnceMintedAsync())?.Id);
    }

    [Fact]
    public async Task ReturningWithAnUnpaidOrUnknownCheckoutChangesNothing()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-unpaid@example.com";
        var (browser, open) = await portal.StartCheckoutAsync(email);
        using var _ = browser;

        using var unpaid = await browser.Http.GetAsync(new Uri($"/checkout/return?session_id={open.Id}", UriKind.Relative), Ct);
        using var unknown = await browser.Http.GetAsync(new Uri("/checkout/return?session_id=cs_test_doesnotexist", UriKind.Relative), Ct);
        using var garbage = await browser.Http.GetAsync(new Uri("/checkout/return?session_id=../../v1/customers", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, unpaid.StatusCode);
        Assert.Contains("payment-cancelled", await unpaid.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, garbage.StatusCode);
        Assert.Empty(await portal.KeysNamedFor(email));
        Assert.Equal(SubscriberStatus.Pending, (await portal.RecordAsync(email))!.Status);
    }

    /// <summary>A subscriber who paid at checkout and came back: their browser, key and subscription.</summary>
    [Fact]
    public async Task AccessFollowsTheSubscriptionThroughPastDueUnpaidRestoredAndCanceled()
    {
        const string email = "checkout-lifecycle@example.com";
        var (browser, keyId, subscriptionId) = await portal.PaidAsync(email, webhooks: true);
        using var _ = browser;

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
        var (browser, keyId, subscriptionId) = await portal.PaidAsync(email, webhooks: true);
        browser.Dispose();
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, DateOnly.FromDateTime(DateTime.UtcNow), units);
        return (keyId, subscriptionId, (await portal.RecordAsync(email))!.StripeCustomerId!);
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
        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;
        var (paid, events, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Ct);
        Assert.Equal(200, (await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "checkout.session.completed").Id, Ct)).StatusCode);
        var keyId = await portal.KeyIdOf(email);
        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(paid.SubscriptionId!, "canceled", Ct))!.StatusCode);

        // customer.subscription.created carried status active; it arrives after the cancellation.
        var late = await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "customer.subscription.created").Id, Ct);
        var lateInvoice = await portal.Stripe.DeliverEventAsync(events.Single(e => e.Type == "invoice.paid").Id, Ct);

        Assert.Equal(200, late.StatusCode);
        Assert.Equal(200, lateInvoice.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
    }

    [Fact]
    public async Task CancellingFromTheAccountWithdrawsAccessAtOnceAndCancelsWithAFinalInvoiceOnlyOnceItsUsageSettled()
    {
        const string email = "checkout-ended@example.com";
        var (browser, keyId, subscriptionId) = await portal.PaidAsync(email, webhooks: false);
        using var _ = browser;
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, today, 6);

        using var cancelled = await browser.PressAsync("/account/cancel");

        // Access ends at once; the key settles in its plan and the subscription stays until its usage is billed.
        Assert.Equal(HttpStatusCode.SeeOther, cancelled.StatusCode);
        Assert.Equal("Ending", AccountBrowser.StatusOn(await browser.AccountPageAsync()));
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.Equal("active", portal.Stripe.Subscriptions.Single(s => s.Id == subscriptionId).Status);
        Assert.Equal(EndSubscriptionOutcome.Ending, await portal.Services.GetRequiredService<EndSubscription>().EndAsync(CheckoutPortalFixture.SubscriberIdOf(email), Ct));

        // Requests the key served before it stopped show in GetUsage after the end: they are billed all the same.
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, today, 3);
        var billed = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        var customerId = (await portal.RecordAsync(email))!.StripeCustomerId;
        Assert.Equal(9, Assert.Single(portal.Stripe.MeterEvents, e => e.CustomerId == customerId).Value);
        Assert.Equal("active", portal.Stripe.Subscriptions.Single(s => s.Id == subscriptionId).Status);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));

        // The next report finds nothing left to bill: the subscription is canceled with its final invoice, the key leaves its plan.
        var settled = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        Assert.Equal(0, billed.Failures);
        Assert.True(settled.Stripe.KeysSettled >= 1);
        var requests = portal.Stripe.Requests.ToList();
        Assert.True(
            requests.FindIndex(r => r.Method == "POST" && r.Path == "/v1/billing/meter_events") < requests.FindIndex(r => r.Method == "DELETE" && r.Path == $"/v1/subscriptions/{subscriptionId}"),
            "the last usage is reported before the cancellation's final invoice");
        Assert.Equal("canceled", portal.Stripe.Subscriptions.Single(s => s.Id == subscriptionId).Status);
        Assert.Contains(portal.Stripe.Invoices, i => i.SubscriptionId == subscriptionId && i.BillingReason == "subscription_cycle");
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        var record = (await portal.RecordAsync(email))!;
        Assert.Null(record.SettlingSince);
        Assert.NotNull(record.EndRequestedAt);
    }

    [Fact]
    public async Task ACanceledSubscriberSubscribesAgainAndTheirKeyWorksAgainOnTheNewSubscription()
    {
        const string email = "checkout-again@example.com";
        var (browser, keyId, first) = await portal.PaidAsync(email, webhooks: true);
        using var _ = browser;
        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(first, "canceled", Ct))!.StatusCode);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);

        // The settled key is kept for the retention (30 days by default), so it can work again.
        Assert.InRange((await portal.RecordAsync(email))!.KeyDeleteAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
        var ended = await browser.AccountPageAsync();
        Assert.Equal("Ended", AccountBrowser.StatusOn(ended));
        Assert.Contains("Subscribe again", ended, StringComparison.Ordinal);

        using var pressed = await browser.PressAsync("/account/subscribe");
        var session = portal.Stripe.CheckoutSessions.Single(s => s.Url == pressed.Headers.Location?.ToString());
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: true, Ct);
        using (await portal.ReturnAsync(browser, paid))
        {
        }

        var record = (await portal.RecordAsync(email))!;
        Assert.NotEqual(first, paid.SubscriptionId);
        Assert.Equal(paid.SubscriptionId, record.StripeSubscriptionId);
        Assert.Equal(SubscriberStatus.Active, record.Status);
        Assert.Null(record.EndRequestedAt);
        Assert.Equal(keyId, record.ApiKeyId);
        Assert.Null(record.KeyDeleteAt);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Single(portal.Stripe.Customers, c => c.Email == email);
        Assert.Equal("Active", AccountBrowser.StatusOn(await browser.AccountPageAsync()));
    }

    [Fact]
    public async Task ManageBillingOpensTheCustomersBillingPortalWhereANewCardRestoresAccessAndCancellingAtPeriodEndKeepsIt()
    {
        const string email = "checkout-portal@example.com";
        var (browser, keyId, subscriptionId) = await portal.PaidAsync(email, webhooks: true);
        using var _ = browser;
        Assert.Equal(200, (await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "unpaid", Ct))!.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.Contains("Update payment method", await browser.AccountPageAsync(), StringComparison.Ordinal);

        using var pressed = await browser.PressAsync("/account/billing");

        Assert.Equal(HttpStatusCode.SeeOther, pressed.StatusCode);
        var session = Assert.Single(portal.Stripe.BillingPortalSessions, s => s.Url == pressed.Headers.Location?.ToString());
        Assert.Equal((await portal.RecordAsync(email))!.StripeCustomerId, session.CustomerId);
        Assert.Equal(new Uri(portal.Http.BaseAddress!, "account").ToString(), session.ReturnUrl);

        var card = await portal.Stripe.UpdateCardFromPortalAsync(session.Id, Ct);
        Assert.All(card.Deliveries, d => Assert.Equal(200, d.StatusCode));
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Equal("Active", AccountBrowser.StatusOn(await browser.AccountPageAsync()));

        var cancel = await portal.Stripe.CancelAtPeriodEndFromPortalAsync(session.Id, cancellationToken: Ct);
        Assert.All(cancel.Deliveries, d => Assert.Equal(200, d.StatusCode));
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
    }

    [Fact]
    public async Task WithoutJavaScriptSubscribeIsAPostAnsweredWithARedirectSoAReloadRepeatsNothing()
    {
        portal.DeliverWebhooks(false);
        const string email = "checkout-form@example.com";
        var (browser, session) = await portal.StartCheckoutAsync(email);
        using var _ = browser;

        // A reload after the redirect is a GET of the account page: it opens no checkout and creates no customer.
        await browser.AccountPageAsync();
        await browser.AccountPageAsync();

        Assert.Single(portal.Stripe.CheckoutSessions, s => s.ClientReferenceId == CheckoutPortalFixture.SubscriberIdOf(email));
        Assert.Single(portal.Stripe.Customers, c => c.Email == email);
        Assert.Equal(session.Url, portal.SessionOf(email).Url);
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
