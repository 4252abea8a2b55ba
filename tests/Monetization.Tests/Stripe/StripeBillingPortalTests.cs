using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Stripe.Webhooks;
using Stripe;

namespace Monetization.Tests.Stripe;

/// <summary>
/// The hosted billing portal: the adapter opens a session on the emulator, whose page lets a customer replace the
/// card and cancel at the end of the period, with the webhooks Stripe sends for both.
/// </summary>
public sealed partial class StripeBillingPortalTests
{
    private static readonly Uri AccountPage = new("https://portal.example/account");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpClient Http(StripeTestBed bed)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = bed.Emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bed.Emulator.SecretKey);
        return http;
    }

    /// <summary>A customer with a subscription started by a paid checkout, so it is charged automatically.</summary>
    private static async Task<(string CustomerId, string SubscriptionId)> SubscribedCustomerAsync(StripeTestBed bed)
    {
        var customerId = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("p@example.com", "P", new Dictionary<string, string>()), "c-p", Ct);
        var checkout = await bed.Billing.StartCheckoutAsync(new NewCheckout(customerId, "stripe#p", "https://portal.example/checkout/return", "https://portal.example/checkout/cancelled"), "c-p-checkout", Ct);
        var (session, _, _) = await bed.Emulator.CompleteCheckoutAsync(checkout.Id, deliver: false, Ct);
        return (customerId, session.SubscriptionId!);
    }

    [Fact]
    public async Task TheEmulatorsSessionHasExactlyTheFieldsOfStripesDocumentedExample()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var customer = await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "s@example.com" }, StripeTestBed.Key("c"), Ct);
        using var http = Http(bed);

        using var response = await http.PostAsync(
            new Uri("/v1/billing_portal/sessions", UriKind.Relative),
            new FormUrlEncodedContent([new("customer", customer.Id), new("return_url", AccountPage.AbsoluteUri)]),
            Ct);
        var rendered = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!.AsObject();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var documented = StripeFixtures.Documented("billing_portal.session");
        Assert.Equal(documented.Select(p => p.Key).Order(StringComparer.Ordinal), rendered.Select(p => p.Key).Order(StringComparer.Ordinal));
        foreach (var (key, value) in rendered)
        {
            // A field is null or of the kind the example shows (a session without a flow has none).
            Assert.True(value is null || Kind(value) == Kind(documented[key]!), $"{key} is {value?.GetValueKind()}, documented {documented[key]?.GetValueKind()}");
        }

        Assert.Equal("billing_portal.session", (string?)rendered["object"]);
        Assert.StartsWith("bps_", (string?)rendered["id"], StringComparison.Ordinal);
        Assert.StartsWith("bpc_", (string?)rendered["configuration"], StringComparison.Ordinal);
        Assert.Equal(customer.Id, (string?)rendered["customer"]);
        Assert.Equal(AccountPage.AbsoluteUri, (string?)rendered["return_url"]);
        Assert.Equal(new Uri(bed.Emulator.Endpoint, $"_emulator/billing_portal/{rendered["id"]}").AbsoluteUri, (string?)rendered["url"]);
        Assert.Null(rendered["flow"]);
        Assert.False((bool)rendered["livemode"]!);
    }

    [Theory]
    [InlineData(null, null, "customer", "parameter_missing")]
    [InlineData("cus_nobody", null, "customer", "resource_missing")]
    [InlineData(null, "flow_data[type]", "flow_data[type]", "parameter_unknown")]
    [InlineData(null, "return_url", "return_url", "url_invalid")]
    public async Task ASessionIsRefusedAsStripeRefusesIt(string? customer, string? extra, string param, string code)
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var known = await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions(), StripeTestBed.Key("c"), Ct);
        var form = new List<KeyValuePair<string, string>>();
        if (code != "parameter_missing")
        {
            form.Add(new("customer", customer ?? known.Id));
        }

        if (extra is not null)
        {
            form.Add(new(extra, extra == "return_url" ? "not a url" : "payment_method_update"));
        }

        using var http = Http(bed);
        using var response = await http.PostAsync(new Uri("/v1/billing_portal/sessions", UriKind.Relative), new FormUrlEncodedContent(form), Ct);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(("invalid_request_error", code, param), ((string?)error["type"], (string?)error["code"], (string?)error["param"]));
        Assert.Empty(bed.Emulator.BillingPortalSessions);
    }

    [Fact]
    public async Task AnUnknownCustomerIsStripesRefusalNotAnOutage()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        var refused = await Assert.ThrowsAsync<StripeException>(() => bed.Billing.OpenBillingPortalAsync("cus_nobody", AccountPage, Ct));

        Assert.Equal("resource_missing", refused.StripeError.Code);
        Assert.Equal("customer", refused.StripeError.Param);
    }

    [Fact]
    public async Task CancellingOnThePortalPageKeepsTheSubscriptionUntilThePeriodEndsAndDeliversTheSignedUpdate()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var (customerId, subscriptionId) = await SubscribedCustomerAsync(bed);
        bed.Emulator.WebhookUrl = receiver.Url;

        var url = await bed.Billing.OpenBillingPortalAsync(customerId, AccountPage, Ct);

        // Opening a session changes nothing at Stripe, so the adapter sends no idempotency key (see StripeTransport).
        var opened = Assert.Single(bed.Emulator.Requests, r => r.Path == "/v1/billing_portal/sessions");
        Assert.Equal(("POST", null), (opened.Method, opened.IdempotencyKey));
        using var http = Http(bed);
        var page = await http.GetStringAsync(url, Ct);
        Assert.Contains($"id=\"{subscriptionId}\" data-status=\"active\"", page, StringComparison.Ordinal);
        Assert.Contains($"<a id=\"return\" href=\"{AccountPage.AbsoluteUri}\">Return</a>", page, StringComparison.Ordinal);
        Assert.Contains(bed.Emulator.Invoices.Single().Id, page, StringComparison.Ordinal);

        // The person presses "Cancel subscription": the page's own form, as a browser sends it.
        var cancel = CancelForm().Match(page);
        Assert.True(cancel.Success, page);
        using var pressed = await http.PostAsync(
            new Uri(cancel.Groups["action"].Value, UriKind.Relative),
            new FormUrlEncodedContent([new("subscription", cancel.Groups["subscription"].Value)]),
            Ct);
        var after = await http.GetStringAsync(url, Ct);

        Assert.Equal(HttpStatusCode.SeeOther, pressed.StatusCode);
        Assert.Equal(url.AbsolutePath, pressed.Headers.Location?.OriginalString);
        var subscription = Assert.Single(bed.Emulator.Subscriptions);
        Assert.Contains($"cancels on {DateTimeOffset.FromUnixTimeSeconds(subscription.CurrentPeriodEnd):yyyy-MM-dd}", after, StringComparison.Ordinal);
        Assert.DoesNotContain("Cancel subscription", after, StringComparison.Ordinal);
        var (body, signature) = await receiver.WaitForAsync("customer.subscription.updated", e => (bool?)e["data"]!["object"]!["cancel_at_period_end"] == true, Ct);
        var verified = new StripeWebhookVerifier(new Secret(bed.Emulator.WebhookSecret), TimeProvider.System).Verify(body, signature);
        Assert.True(verified.IsValid, verified.Outcome.ToString());
        Assert.Equal((subscriptionId, "active"), (verified.Event!.SubscriptionId, verified.Event.Status));
        var data = JsonNode.Parse(body)!["data"]!;
        Assert.Equal(subscription.CurrentPeriodEnd, (long?)data["object"]!["cancel_at"]);
        Assert.Equal("cancellation_requested", (string?)data["object"]!["cancellation_details"]!["reason"]);
        Assert.False((bool)data["previous_attributes"]!["cancel_at_period_end"]!);

        // Stripe.net reads the subscription as Stripe would answer it: still active, ending with its period.
        var read = await bed.Stripe.V1.Subscriptions.GetAsync(subscriptionId, cancellationToken: Ct);
        Assert.Equal(("active", true, DateTimeOffset.FromUnixTimeSeconds(subscription.CurrentPeriodEnd).UtcDateTime), (read.Status, read.CancelAtPeriodEnd, read.CancelAt));
        Assert.Equal(BillingSubscriptionStatus.Active, (await bed.Billing.GetSubscriptionAsync(subscriptionId, Ct))!.Status);
    }

    [Fact]
    public async Task ASecondCancelChangesAndDeliversNothing()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var (customerId, _) = await SubscribedCustomerAsync(bed);
        await bed.Billing.OpenBillingPortalAsync(customerId, AccountPage, Ct);
        var session = Assert.Single(bed.Emulator.BillingPortalSessions);

        var first = await bed.Emulator.CancelAtPeriodEndFromPortalAsync(session.Id, cancellationToken: Ct);
        var second = await bed.Emulator.CancelAtPeriodEndFromPortalAsync(session.Id, cancellationToken: Ct);

        Assert.Equal(["customer.subscription.updated"], first.Events.Select(e => e.Type));
        Assert.Empty(second.Events);
        Assert.Equal(first.Subscriptions, second.Subscriptions);
    }

    [Fact]
    public async Task ANewCardOnThePortalPaysWhatIsOverdueAndMakesAPastDueSubscriptionActive()
    {
        await using var receiver = await WebhookReceiver.StartAsync(Ct);
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var (customerId, subscriptionId) = await SubscribedCustomerAsync(bed);
        await bed.Emulator.SetSubscriptionStatusAsync(subscriptionId, "past_due", Ct);
        bed.Emulator.WebhookUrl = receiver.Url;
        var url = await bed.Billing.OpenBillingPortalAsync(customerId, AccountPage, Ct);
        using var http = Http(bed);
        var (invoicesBefore, eventsBefore) = (bed.Emulator.Invoices.Count, bed.Emulator.Events.Count);

        using var declined = await http.PostAsync(new Uri(url, $"{url.AbsolutePath}/payment_method"), new FormUrlEncodedContent([new("cardNumber", "4000 0000 0000 0002")]), Ct);
        var afterDecline = (bed.Emulator.Subscriptions.Single().Status, bed.Emulator.Invoices.Count, bed.Emulator.Events.Count);
        var change = await bed.Emulator.UpdateCardFromPortalAsync(bed.Emulator.BillingPortalSessions.Single().Id, Ct);

        Assert.Equal(HttpStatusCode.PaymentRequired, declined.StatusCode);
        Assert.Equal(("past_due", invoicesBefore, eventsBefore), afterDecline);
        Assert.Equal(["customer.updated", "invoice.paid", "customer.subscription.updated"], change.Events.Select(e => e.Type));
        Assert.All(change.Deliveries, d => Assert.Equal(200, d.StatusCode));
        Assert.Equal(change.Events.Select(e => e.Id), change.Deliveries.Select(d => d.EventId));
        var subscription = Assert.Single(change.Subscriptions);
        Assert.Equal("active", subscription.Status);
        var renewal = bed.Emulator.Invoices.Single(i => i.Id == subscription.LatestInvoiceId);
        Assert.Equal(("paid", "subscription_cycle", subscriptionId), (renewal.Status, renewal.BillingReason, renewal.SubscriptionId));
        Assert.Equal(subscription.DefaultPaymentMethod, bed.Emulator.Customers.Single().DefaultPaymentMethod);
        Assert.StartsWith("pm_", subscription.DefaultPaymentMethod, StringComparison.Ordinal);
        var (body, _) = await receiver.WaitForAsync("customer.subscription.updated", e => (string?)e["data"]!["object"]!["status"] == "active", Ct);
        Assert.Equal("past_due", (string?)JsonNode.Parse(body)!["data"]!["previous_attributes"]!["status"]);
        await receiver.WaitForAsync("invoice.paid", e => (string?)e["data"]!["object"]!["id"] == renewal.Id, Ct);
        Assert.Equal(BillingSubscriptionStatus.Active, (await bed.Billing.GetSubscriptionAsync(subscriptionId, Ct))!.Status);
        Assert.Contains($"Card {subscription.DefaultPaymentMethod}", await http.GetStringAsync(url, Ct), StringComparison.Ordinal);
    }

    private static JsonValueKind Kind(JsonNode node) => node.GetValueKind() is JsonValueKind.False ? JsonValueKind.True : node.GetValueKind();

    [GeneratedRegex("<form class=\"cancel\" method=\"post\" action=\"(?<action>[^\"]+)\"><input type=\"hidden\" name=\"subscription\" value=\"(?<subscription>[^\"]+)\">")]
    private static partial Regex CancelForm();
}
