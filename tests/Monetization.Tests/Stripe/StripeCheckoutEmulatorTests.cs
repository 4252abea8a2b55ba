using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monetization.Core;
using Monetization.Emulators;
using Monetization.Emulators.Stripe;
using Monetization.Core.Billing;
using Monetization.Stripe.Webhooks;
using Stripe;
using StripeCheckout = Stripe.Checkout;

namespace Monetization.Tests.Stripe;

/// <summary>The emulator's Checkout, invoices and events: Stripe's shapes and Stripe's refusals.</summary>
public sealed class StripeCheckoutEmulatorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpClient Http(StripeEmulator emulator, bool redirects = true)
    {
        var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = redirects }) { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.SecretKey);
        return http;
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> PostAsync(HttpClient http, string path, params (string Key, string Value)[] form)
    {
        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value))), Ct);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!);
    }

    private static async Task<(StripeTestBed Bed, string CustomerId)> BedWithCustomerAsync()
    {
        var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var customer = await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "c@example.com", Name = "C" }, StripeTestBed.Key("c"), Ct);
        return (bed, customer.Id);
    }

    private static Task<StripeCheckout.Session> CheckoutAsync(StripeTestBed bed, string customerId, string idempotencyKey) =>
        bed.Stripe.V1.Checkout.Sessions.CreateAsync(
            new StripeCheckout.SessionCreateOptions
            {
                Mode = "subscription",
                Customer = customerId,
                LineItems = [new StripeCheckout.SessionLineItemOptions { Price = bed.PriceId }],
                SuccessUrl = "https://portal.example/checkout/return?session_id={CHECKOUT_SESSION_ID}",
                CancelUrl = "https://portal.example/checkout/cancelled",
                ClientReferenceId = "stripe#abc",
                Metadata = new() { ["subscriberId"] = "stripe#abc" },
            },
            StripeTestBed.Key(idempotencyKey),
            Ct);

    private static Task<StripeCheckout.Session> RetrieveAsync(StripeTestBed bed, string sessionId) =>
        bed.Stripe.V1.Checkout.Sessions.GetAsync(sessionId, cancellationToken: Ct);

    [Theory]
    [InlineData("checkout.session")]
    [InlineData("invoice")]
    [InlineData("subscription")]
    public async Task EveryFieldTheEmulatorWritesIsOneStripeDocumentsForThatObject(string kind)
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var session = await CheckoutAsync(bed, customerId, "k");
        await bed.Emulator.CompleteCheckoutAsync(session.Id, deliver: false, Ct);
        var rendered = kind switch
        {
            "checkout.session" => JsonNode.Parse(bed.Emulator.Events.Single(e => e.Type == "checkout.session.completed").Payload)!["data"]!["object"]!.AsObject(),
            "invoice" => JsonNode.Parse(bed.Emulator.Events.Single(e => e.Type == "invoice.paid").Payload)!["data"]!["object"]!.AsObject(),
            _ => JsonNode.Parse(bed.Emulator.Events.Single(e => e.Type == "customer.subscription.created").Payload)!["data"]!["object"]!.AsObject(),
        };

        var documented = StripeFixtures.Documented(kind);
        Assert.Equal(Array.Empty<string>(), rendered.Select(p => p.Key).Where(k => !documented.ContainsKey(k)).ToArray());
        Assert.Equal(kind, rendered["object"]!.GetValue<string>());
        var eventKeys = JsonNode.Parse(bed.Emulator.Events[0].Payload)!.AsObject().Select(p => p.Key);
        Assert.Equal(Array.Empty<string>(), eventKeys.Where(k => !StripeFixtures.Documented("event").ContainsKey(k)).ToArray());
    }

    [Fact]
    public async Task ACheckoutSessionForTheMeteredPriceOpensOnTheHostedPage()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;

        var session = await CheckoutAsync(bed, customerId, "k");

        Assert.Equal("open", session.Status);
        Assert.Equal("subscription", session.Mode);
        Assert.Equal(customerId, session.CustomerId);
        Assert.Equal("stripe#abc", session.ClientReferenceId);
        Assert.Equal("stripe#abc", session.Metadata["subscriberId"]);
        Assert.Null(session.SubscriptionId);
        Assert.StartsWith("cs_test_", session.Id, StringComparison.Ordinal);
        Assert.Equal(new Uri(bed.Emulator.Endpoint, $"_emulator/checkout/{session.Id}").ToString(), session.Url);

        // Since 2026-03-25.dahlia the hosted page's mode is named hosted_page.
        Assert.Equal("hosted_page", session.UiMode);
        var retrieved = await RetrieveAsync(bed, session.Id);
        Assert.Equal(session.ToJson(), retrieved.ToJson());
    }

    [Theory]
    [InlineData("line_items[0][quantity]", "1", "line_items[0][quantity]", "parameter_invalid_string")]
    [InlineData("subscription_data[trial_period_days]", "7", "subscription_data[trial_period_days]", "parameter_unknown")]
    [InlineData("success_url", "not a url", "success_url", "url_invalid")]
    public async Task CheckoutRefusesWhatStripeRefuses(string key, string value, string param, string code)
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        using var http = Http(bed.Emulator);

        var (status, body) = await PostAsync(http, "/v1/checkout/sessions", ("mode", "subscription"), ("customer", customerId), ("line_items[0][price]", bed.PriceId), (key, value));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
        Assert.Equal(code, body["error"]!["code"]!.GetValue<string>());
        Assert.Empty(bed.Emulator.CheckoutSessions);
    }

    [Fact]
    public async Task CheckoutWithoutAModeIsMissingAParameter()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        using var http = Http(bed.Emulator);

        var (status, body) = await PostAsync(http, "/v1/checkout/sessions", ("customer", customerId), ("line_items[0][price]", bed.PriceId));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("parameter_missing", body["error"]!["code"]!.GetValue<string>());
        Assert.Equal("mode", body["error"]!["param"]!.GetValue<string>());
    }

    [Fact]
    public async Task SessionsAreListedByCustomerNewestFirstAndAnExpiredOneCanNoLongerBePaid()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var first = await CheckoutAsync(bed, customerId, "k1");
        var second = await CheckoutAsync(bed, customerId, "k2");
        using var http = Http(bed.Emulator);

        var (expired, body) = await PostAsync(http, $"/v1/checkout/sessions/{first.Id}/expire");
        var (again, refusal) = await PostAsync(http, $"/v1/checkout/sessions/{first.Id}/expire");
        var listed = await bed.Stripe.V1.Checkout.Sessions.ListAsync(new StripeCheckout.SessionListOptions { Customer = customerId }, cancellationToken: Ct);
        using var page = await http.GetAsync(new Uri($"/_emulator/checkout/{first.Id}", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.OK, expired);
        Assert.Equal("expired", body["status"]!.GetValue<string>());
        Assert.Null(body["url"]);
        Assert.Equal(HttpStatusCode.BadRequest, again);
        Assert.Contains("can be expired", refusal["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal([second.Id, first.Id], listed.Data.Select(s => s.Id));
        Assert.Equal(HttpStatusCode.Gone, page.StatusCode);
        await Assert.ThrowsAsync<ArgumentException>(() => bed.Emulator.CompleteCheckoutAsync(first.Id, deliver: false, Ct));
    }

    [Fact]
    public async Task TheHostedPageDeclinesAnyCardButTheTestCardAndPaysWithItThenReturnsToTheSuccessUrl()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var session = await CheckoutAsync(bed, customerId, "k");
        using var http = Http(bed.Emulator, redirects: false);

        using var form = await http.GetAsync(new Uri(session.Url!), Ct);
        using var declined = await http.PostAsync(new Uri(session.Url!), new FormUrlEncodedContent([new("cardNumber", "4000 0000 0000 0002")]), Ct);
        var afterDecline = bed.Emulator.Subscriptions.Count;
        using var paid = await http.PostAsync(new Uri(session.Url!), new FormUrlEncodedContent([new("cardNumber", "4242 4242 4242 4242"), new("cardExpiry", "12 / 34"), new("cardCvc", "123")]), Ct);

        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        Assert.Contains("name=\"cardNumber\"", await form.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.PaymentRequired, declined.StatusCode);
        Assert.Equal(0, afterDecline);
        Assert.Equal(HttpStatusCode.SeeOther, paid.StatusCode);
        Assert.Equal(new Uri($"https://portal.example/checkout/return?session_id={session.Id}"), paid.Headers.Location);
        var completed = await RetrieveAsync(bed, session.Id);
        Assert.Equal("complete", completed.Status);
        Assert.Null(completed.Url);
        var subscription = Assert.Single(bed.Emulator.Subscriptions);
        Assert.Equal(completed.SubscriptionId, subscription.Id);
        Assert.Equal("active", subscription.Status);
        Assert.Equal("charge_automatically", subscription.CollectionMethod);
        Assert.StartsWith("pm_", subscription.DefaultPaymentMethod, StringComparison.Ordinal);
        Assert.Null(Assert.Single(subscription.Items).Quantity);
        Assert.Equal("paid", Assert.Single(bed.Emulator.Invoices).Status);
    }

    [Fact]
    public async Task CancellingWithInvoiceNowBillsTheUsageAndDeliversTheDeletionSigned()
    {
        var received = new List<string>();
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            lock (received)
            {
                received.Add($"{request.Headers["Stripe-Signature"]}\n{body}");
            }

            return Results.Ok();
        });
        await receiver.StartAsync(Ct);
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.WebhookUrl = new Uri($"http://127.0.0.1:{port}/hook");
        var customerId = await bed.Billing.CreateCustomerAsync(new("u@example.com", "U", new Dictionary<string, string>()), "c", Ct);
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, "s", Ct);
        await bed.Meter.ReportAsync([new MeterUsage(customerId, 40, DateTimeOffset.UtcNow, "usage-1")], Ct);

        await bed.Billing.CancelSubscriptionAsync(subscription.Id, "end", Ct);

        var invoice = Assert.Single(bed.Emulator.Invoices);
        Assert.Equal(subscription.Id, invoice.SubscriptionId);
        Assert.Equal(20, invoice.AmountDue);
        Assert.Equal("send_invoice", invoice.CollectionMethod);
        Assert.Contains(bed.Emulator.Requests, r => r.Method == "DELETE" && r.Path == $"/v1/subscriptions/{subscription.Id}");
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (bed.Emulator.Deliveries.All(d => d.Type != "customer.subscription.deleted") && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(20, Ct);
        }

        var verifier = new StripeWebhookVerifier(new Secret(bed.Emulator.WebhookSecret), TimeProvider.System);
        string[] deliveries;
        lock (received)
        {
            deliveries = [.. received];
        }

        var events = deliveries.Select(d => verifier.Verify(d[(d.IndexOf('\n', StringComparison.Ordinal) + 1)..], d[..d.IndexOf('\n', StringComparison.Ordinal)])).ToList();
        Assert.All(events, e => Assert.True(e.IsValid, e.Outcome.ToString()));
        Assert.Equal(["customer.subscription.created", "invoice.created", "invoice.finalized", "customer.subscription.deleted"], events.Select(e => e.Event!.Type));
        Assert.Equal(subscription.Id, events[1].Event!.SubscriptionId);
        Assert.Equal("canceled", events[^1].Event!.Status);
    }

    [Theory]
    [InlineData("send_invoice", null, "days_until_due", "parameter_missing")]
    [InlineData("charge_automatically", "30", "days_until_due", "parameter_invalid_string")]
    public async Task InvoiceTermsAreRefusedWhenTheyDoNotFitTheCollectionMethod(string method, string? days, string param, string code)
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        using var http = Http(bed.Emulator);
        var form = new List<(string, string)> { ("customer", customerId), ("items[0][price]", bed.PriceId), ("collection_method", method) };
        if (days is not null)
        {
            form.Add(("days_until_due", days));
        }

        var (status, body) = await PostAsync(http, "/v1/subscriptions", [.. form]);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(param, body["error"]!["param"]!.GetValue<string>());
        Assert.Equal(code, body["error"]!["code"]!.GetValue<string>());
        Assert.Empty(bed.Emulator.Subscriptions);
    }
}
