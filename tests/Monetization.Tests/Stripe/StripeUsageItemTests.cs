using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Stripe;

namespace Monetization.Tests.Stripe;

/// <summary>
/// Usage after a subscription ended, billed as invoice items and put on an invoice of their own, against the emulator;
/// the cancel that counts an earlier cancel as done; and the emulator's Stripe-strict invoice item and invoice endpoints.
/// </summary>
public sealed class StripeUsageItemTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(StripeTestBed Bed, string CustomerId)> BedWithCustomerAsync(Action<StripeOptions>? configure = null)
    {
        var bed = await StripeTestBed.StartAsync(configure, cancellationToken: Ct);
        var customerId = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("u@example.com", "U", new Dictionary<string, string>()), "customer", Ct);
        return (bed, customerId);
    }

    private static MeterUsage Usage(string customerId, long value, string identifier) => new(customerId, value, Noon, identifier);

    private static long BilledUnits(StripeTestBed bed, string customerId) => bed.Emulator.InvoiceItems.Where(i => i.CustomerId == customerId).Sum(i => i.Quantity);

    private static int Posts(StripeTestBed bed, string path) => bed.Emulator.Requests.Count(r => r.Method == "POST" && r.Path == path);

    private static HttpClient Http(StripeEmulator emulator)
    {
        var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.SecretKey);
        return http;
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> SendAsync(HttpClient http, HttpMethod method, string path, params (string Key, string Value)[] form)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (method == HttpMethod.Post)
        {
            request.Content = new FormUrlEncodedContent(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));
        }

        using var response = await http.SendAsync(request, Ct);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!);
    }

    [Fact]
    public async Task AUsageItemBillsTheUnitsAtTheMeteredPricesUnitAmountAndCarriesTheUsageIdentifier()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 41, "usage-1"), "usage-1:attempt-1", Ct);

        var item = Assert.Single(bed.Emulator.InvoiceItems);
        var price = Assert.Single(bed.Emulator.Prices);
        Assert.Equal((customerId, 41L, "0.5", "usd", price.ProductId), (item.CustomerId, item.Quantity, item.UnitAmountDecimal, item.Currency, item.ProductId));

        // 41 × 0.5 = 20.5 cents: Stripe rounds each line half up.
        Assert.Equal(21, item.Amount);
        Assert.Equal("usage-1", item.Metadata[StripeBilling.UsageIdentifierKey]);
        Assert.Equal((Noon.ToUnixTimeSeconds(), Noon.ToUnixTimeSeconds()), (item.PeriodStart, item.PeriodEnd));
        Assert.Equal("API requests after the subscription ended", item.Description);
        Assert.Null(item.InvoiceId);
        Assert.NotEqual(price.Id, item.PriceId);
        Assert.Equal(1, bed.RequestsWithKey("usage-1:attempt-1"));
    }

    [Fact]
    public async Task OneAdapterReadsTheMeteredPriceOnceForEveryItemItBills()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var billing = bed.Billing;

        await billing.BillUsageItemAsync(Usage(customerId, 1, "usage-1"), "usage-1:attempt-1", Ct);
        await billing.BillUsageItemAsync(Usage(customerId, 2, "usage-2"), "usage-2:attempt-1", Ct);

        Assert.Single(bed.Emulator.Requests, r => r.Method == "GET" && r.Path == $"/v1/prices/{bed.PriceId}");
        Assert.Equal(3, BilledUnits(bed, customerId));
    }

    [Fact]
    public async Task AResendWithTheSameIdentifierAndANewAttemptKeyBillsNothing()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 7, "usage-1"), "usage-1:attempt-1", Ct);

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 7, "usage-1"), "usage-1:attempt-2", Ct);

        Assert.Equal(7, BilledUnits(bed, customerId));
        Assert.Equal(1, Posts(bed, "/v1/invoiceitems"));
    }

    [Fact]
    public async Task AnIdentifierAlreadyInvoicedStillCountsAsBilled()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 7, "usage-1"), "usage-1:attempt-1", Ct);
        Assert.True(await bed.Billing.InvoicePendingUsageAsync(customerId, "final-usage-1", Ct));

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 7, "usage-1"), "usage-1:attempt-2", Ct);

        Assert.Equal(7, BilledUnits(bed, customerId));
    }

    [Fact]
    public async Task TheLookUpFollowsStripesPagesToFindAnItemBilledLongAgo()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        for (var i = 0; i < 102; i++)
        {
            await bed.Billing.BillUsageItemAsync(Usage(customerId, 1, $"usage-{i}"), $"usage-{i}:attempt-1", Ct);
        }

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 1, "usage-0"), "usage-0:attempt-2", Ct);

        Assert.Equal(102, BilledUnits(bed, customerId));
        Assert.Contains(bed.Emulator.Requests, r => r.Method == "GET" && r.Path == "/v1/invoiceitems");
    }

    [Fact]
    public async Task ACreateStripeFailedWithA500IsBilledOnceByTheNextAttempt()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;

        // Stripe began the request and failed it: it stores the 500 under the key and replays it to every retry.
        bed.Emulator.InjectFault(new FaultRule { Method = "POST", PathPrefix = "/v1/invoiceitems", Status = 500, Phase = FaultPhase.After, Count = 1 });
        await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Billing.BillUsageItemAsync(Usage(customerId, 5, "usage-1"), "usage-1:attempt-1", Ct));
        Assert.Empty(bed.Emulator.InvoiceItems);

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 5, "usage-1"), "usage-1:attempt-2", Ct);

        Assert.Equal(5, BilledUnits(bed, customerId));
    }

    [Fact]
    public async Task AnItemStripeCreatedWhoseAnswerWasLostIsFoundByTheNextAttemptAndNotBilledAgain()
    {
        // No retries inside the call: the lost answer fails the attempt, as when the Lambda itself times out.
        var (bed, customerId) = await BedWithCustomerAsync(o => o.MaxRetries = 0);
        await using var _ = bed;
        bed.Emulator.InjectFault(new FaultRule { Method = "POST", PathPrefix = "/v1/invoiceitems", Kind = FaultKind.Reset, Phase = FaultPhase.After, Count = 1 });
        await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Billing.BillUsageItemAsync(Usage(customerId, 5, "usage-1"), "usage-1:attempt-1", Ct));
        Assert.Single(bed.Emulator.InvoiceItems);

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 5, "usage-1"), "usage-1:attempt-2", Ct);

        Assert.Equal(5, BilledUnits(bed, customerId));
        Assert.Equal(1, Posts(bed, "/v1/invoiceitems"));
    }

    [Fact]
    public async Task AnAnswerLostWithinOneCallIsReplayedByTheRetryUnderTheSameKey()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        bed.Emulator.InjectFault(new FaultRule { Method = "POST", PathPrefix = "/v1/invoiceitems", Kind = FaultKind.Reset, Phase = FaultPhase.After, Count = 1 });

        await bed.Billing.BillUsageItemAsync(Usage(customerId, 5, "usage-1"), "usage-1:attempt-1", Ct);

        Assert.Equal(5, BilledUnits(bed, customerId));
        Assert.Equal(2, bed.RequestsWithKey("usage-1:attempt-1"));
    }

    [Fact]
    public async Task InvoicingPendingUsagePutsEveryItemOnOneInvoiceTotallingThemAndLeavesNothingPending()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 41, "usage-1"), "usage-1:attempt-1", Ct);
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 10, "usage-2"), "usage-2:attempt-1", Ct);
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 1, "usage-3"), "usage-3:attempt-1", Ct);

        Assert.True(await bed.Billing.InvoicePendingUsageAsync(customerId, "final-usage-1", Ct));

        var invoice = Assert.Single(bed.Emulator.Invoices);
        Assert.Null(invoice.SubscriptionId);
        Assert.Equal((customerId, "draft", "charge_automatically", true), (invoice.CustomerId, invoice.Status, invoice.CollectionMethod, invoice.AutoAdvance));

        // Each line is rounded before the total: 20.5 → 21, 5, 0.5 → 1.
        Assert.Equal(27, invoice.AmountDue);
        Assert.All(bed.Emulator.InvoiceItems, i => Assert.Equal(invoice.Id, i.InvoiceId));
        var read = await bed.Stripe.V1.Invoices.GetAsync(invoice.Id, cancellationToken: Ct);
        Assert.Equal((27L, 3), (read.Total, read.Lines.Data.Count));
        Assert.Null(read.Parent);
        var pending = await bed.Stripe.V1.InvoiceItems.ListAsync(new InvoiceItemListOptions { Customer = customerId, Pending = true }, cancellationToken: Ct);
        Assert.Empty(pending.Data);
        Assert.Equal(1, bed.RequestsWithKey("final-usage-1"));
    }

    [Fact]
    public async Task ASecondInvoiceCallFindsNothingPendingAndCreatesNoInvoice()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 4, "usage-1"), "usage-1:attempt-1", Ct);
        await bed.Billing.InvoicePendingUsageAsync(customerId, "final-usage-1", Ct);

        Assert.False(await bed.Billing.InvoicePendingUsageAsync(customerId, "final-usage-2", Ct));

        Assert.Single(bed.Emulator.Invoices);
        Assert.Equal(1, Posts(bed, "/v1/invoices"));
    }

    [Fact]
    public async Task ACustomerWithoutUsageItemsIsNotInvoiced()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        await bed.Stripe.V1.InvoiceItems.CreateAsync(
            new InvoiceItemCreateOptions { Customer = customerId, PriceData = new InvoiceItemPriceDataOptions { Currency = "usd", Product = bed.Emulator.Products[0].Id, UnitAmount = 100 } },
            StripeTestBed.Key("setup-fee"),
            Ct);

        Assert.False(await bed.Billing.InvoicePendingUsageAsync(customerId, "final-usage-1", Ct));

        Assert.Empty(bed.Emulator.Invoices);
    }

    [Fact]
    public async Task WithIncludeAndNothingPendingStripeMakesAnEmptyDraftWhichTheAdapterRemoves()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;

        // The race the adapter guards against: its look-up saw items another call invoiced before its create.
        var empty = await bed.Stripe.V1.Invoices.CreateAsync(
            new InvoiceCreateOptions { Customer = customerId, PendingInvoiceItemsBehavior = "include", AutoAdvance = true },
            StripeTestBed.Key("empty"),
            Ct);
        Assert.Equal(("draft", 0L), (empty.Status, empty.Total));
        Assert.Empty(empty.Lines.Data);
        Assert.NotNull(empty.AutomaticallyFinalizesAt);

        var deleted = await bed.Stripe.V1.Invoices.DeleteAsync(empty.Id, cancellationToken: Ct);

        Assert.True(deleted.Deleted);
        Assert.Empty(bed.Emulator.Invoices);
    }

    [Fact]
    public async Task ATieredPriceIsRefusedWithAMessageNamingTheSetting()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var tiered = await bed.Stripe.V1.Prices.CreateAsync(
            StripeSetup.TieredMeteredPrice(bed.Emulator.Products[0].Id, bed.MeterId),
            StripeTestBed.Key("tiered"),
            Ct);
        Assert.Equal(("tiered", (decimal?)null), (tiered.BillingScheme, tiered.UnitAmountDecimal));
        await using var services = StripeTestBed.Services(bed.Emulator, billing: true, tiered.Id, null);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => services.GetRequiredService<IBilling>().BillUsageItemAsync(Usage(customerId, 3, "usage-1"), "usage-1:attempt-1", Ct));

        Assert.Contains("Stripe:PriceId", error.Message, StringComparison.Ordinal);
        Assert.Contains("tiered", error.Message, StringComparison.Ordinal);
        Assert.Empty(bed.Emulator.InvoiceItems);
    }

    [Fact]
    public async Task CancellingASubscriptionThatIsAlreadyCanceledSucceeds()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, "subscribe", Ct);
        await bed.Billing.CancelSubscriptionAsync(subscription.Id, "end", Ct);

        await bed.Billing.CancelSubscriptionAsync(subscription.Id, "end", Ct);
        await bed.Billing.CancelSubscriptionAsync(subscription.Id, "end-again", Ct);

        Assert.Equal("canceled", Assert.Single(bed.Emulator.Subscriptions).Status);
        Assert.Single(bed.Emulator.Invoices);
    }

    [Fact]
    public async Task StripeAnswersASecondCancelWithNoSuchSubscriptionThoughTheSubscriptionCanStillBeRead()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, "subscribe", Ct);
        await bed.Stripe.V1.Subscriptions.CancelAsync(subscription.Id, cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Stripe.V1.Subscriptions.CancelAsync(subscription.Id, cancellationToken: Ct));

        Assert.Equal((HttpStatusCode.NotFound, "resource_missing", "id"), (error.HttpStatusCode, error.StripeError.Code, error.StripeError.Param));
        Assert.Equal($"No such subscription: '{subscription.Id}'", error.StripeError.Message);
        Assert.Equal("canceled", (await bed.Stripe.V1.Subscriptions.GetAsync(subscription.Id, cancellationToken: Ct)).Status);
    }

    [Fact]
    public async Task CancellingASubscriptionStripeNeverHadStillFails()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Billing.CancelSubscriptionAsync("sub_doesnotexist", "end", Ct));

        Assert.Equal("resource_missing", error.StripeError.Code);
    }

    [Fact]
    public async Task ACreateRetriedWithTheSameKeyReplaysStripesFirstAnswer()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        var options = new InvoiceItemCreateOptions
        {
            Customer = customerId,
            Quantity = 2,
            PriceData = new InvoiceItemPriceDataOptions { Currency = "usd", Product = bed.Emulator.Products[0].Id, UnitAmountDecimal = 0.5m },
        };

        var first = await bed.Stripe.V1.InvoiceItems.CreateAsync(options, StripeTestBed.Key("item"), Ct);
        var again = await bed.Stripe.V1.InvoiceItems.CreateAsync(options, StripeTestBed.Key("item"), Ct);

        Assert.Equal(first.Id, again.Id);
        Assert.Single(bed.Emulator.InvoiceItems);
        Assert.Equal("price_details", first.Pricing.Type);
        Assert.Equal(bed.Emulator.Products[0].Id, first.Pricing.PriceDetails.Product);
    }

    [Fact]
    public async Task EveryFieldTheEmulatorWritesForInvoiceItemsAndOneOffInvoicesIsOneStripeDocuments()
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        using var http = Http(bed.Emulator);
        await bed.Billing.BillUsageItemAsync(Usage(customerId, 3, "usage-1"), "usage-1:attempt-1", Ct);
        await bed.Billing.InvoicePendingUsageAsync(customerId, "final-usage-1", Ct);

        var (_, items) = await SendAsync(http, HttpMethod.Get, $"/v1/invoiceitems?customer={customerId}");
        var (_, invoice) = await SendAsync(http, HttpMethod.Get, $"/v1/invoices/{bed.Emulator.Invoices[0].Id}");

        Assert.Equal(("list", "/v1/invoiceitems", false), ((string?)items["object"], (string?)items["url"], (bool?)items["has_more"]));
        var rendered = new[]
        {
            ("invoiceitem", items["data"]![0]!.AsObject()),
            ("invoice", invoice.AsObject()),
            ("line_item", invoice["lines"]!["data"]![0]!.AsObject()),
        };
        foreach (var (kind, json) in rendered)
        {
            var documented = StripeFixtures.Documented(kind);
            Assert.Equal(Array.Empty<string>(), json.Select(p => p.Key).Where(k => !documented.ContainsKey(k)).ToArray());
            Assert.Equal(kind, (string?)json["object"]);
        }

        Assert.Null(invoice["parent"]);
        Assert.Null(items["data"]![0]!["parent"]);
        Assert.Equal("usage-1", (string?)invoice["lines"]!["data"]![0]!["metadata"]![StripeBilling.UsageIdentifierKey]);
    }

    [Theory]
    [InlineData("price", "price_123", "price", "parameter_unknown")]
    [InlineData("quantity", "-1", "quantity", "parameter_invalid_integer")]
    [InlineData("quantity", "1.5", "quantity", "parameter_invalid_integer")]
    [InlineData("price_data[unit_amount_decimal]", "0.1234567890123", "price_data[unit_amount_decimal]", "parameter_invalid_string")]
    [InlineData("price_data[unit_amount]", "5", "price_data[unit_amount_decimal]", "parameter_invalid_string")]
    [InlineData("period[start]", "1773144000", "period[end]", "parameter_missing")]
    [InlineData("metadata[usage_identifier]", "a string longer than five hundred characters", "metadata[usage_identifier]", "parameter_invalid_string")]
    [InlineData("customer", "cus_nobody", "customer", "resource_missing")]
    [InlineData("price_data[product]", "prod_nothing", "price_data[product]", "resource_missing")]
    [InlineData("price_data[currency]", "USD", "price_data[currency]", "parameter_invalid_string")]
    public async Task CreatingAnInvoiceItemRefusesWhatStripeRefuses(string key, string value, string param, string code)
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        using var http = Http(bed.Emulator);
        var form = new Dictionary<string, string>
        {
            ["customer"] = customerId,
            ["price_data[currency]"] = "usd",
            ["price_data[product]"] = bed.Emulator.Products[0].Id,
            ["price_data[unit_amount_decimal]"] = "0.5",
            [key] = value.StartsWith("a string longer", StringComparison.Ordinal) ? new string('x', 501) : value,
        };

        var (status, body) = await SendAsync(http, HttpMethod.Post, "/v1/invoiceitems", [.. form.Select(f => (f.Key, f.Value))]);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(("invalid_request_error", param, code), ((string?)body["error"]!["type"], (string?)body["error"]!["param"], (string?)body["error"]!["code"]));
        Assert.Empty(bed.Emulator.InvoiceItems);
    }

    [Theory]
    [InlineData("/v1/invoiceitems?limit=101", "limit", "parameter_invalid_integer")]
    [InlineData("/v1/invoiceitems?pending=maybe", "pending", "parameter_invalid_string")]
    [InlineData("/v1/invoiceitems?subscription=sub_1", "subscription", "parameter_unknown")]
    [InlineData("/v1/invoiceitems?starting_after=ii_unknown", "starting_after", "resource_missing")]
    public async Task ListingInvoiceItemsRefusesWhatStripeRefuses(string path, string param, string code)
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        using var http = Http(bed.Emulator);

        var (status, body) = await SendAsync(http, HttpMethod.Get, path);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal((param, code), ((string?)body["error"]!["param"], (string?)body["error"]!["code"]));
    }

    [Theory]
    [InlineData("pending_invoice_items_behavior", "include_and_require", "pending_invoice_items_behavior", "parameter_invalid_string")]
    [InlineData("collection_method", "send_invoice", "days_until_due", "parameter_missing")]
    [InlineData("days_until_due", "30", "days_until_due", "parameter_invalid_string")]
    [InlineData("auto_advance", "yes", "auto_advance", "parameter_invalid_string")]
    [InlineData("subscription_data[trial_period_days]", "7", "subscription_data[trial_period_days]", "parameter_unknown")]
    public async Task CreatingAnInvoiceRefusesWhatStripeRefuses(string key, string value, string param, string code)
    {
        var (bed, customerId) = await BedWithCustomerAsync();
        await using var _ = bed;
        using var http = Http(bed.Emulator);

        var (status, body) = await SendAsync(http, HttpMethod.Post, "/v1/invoices", ("customer", customerId), ("pending_invoice_items_behavior", "include"), (key, value));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal((param, code), ((string?)body["error"]!["param"], (string?)body["error"]!["code"]));
        Assert.Empty(bed.Emulator.Invoices);
    }

    [Fact]
    public async Task AnInvoiceForACustomerStripeDoesNotKnowIsRefused()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        using var http = Http(bed.Emulator);

        var (status, body) = await SendAsync(http, HttpMethod.Post, "/v1/invoices", ("customer", "cus_nobody"));
        var (missing, _) = await SendAsync(http, HttpMethod.Get, "/v1/invoices/in_nothing");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(("No such customer: 'cus_nobody'", "resource_missing"), ((string?)body["error"]!["message"], (string?)body["error"]!["code"]));
        Assert.Equal(HttpStatusCode.NotFound, missing);
    }
}
