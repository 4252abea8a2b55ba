using System.Net;
using System.Net.Http.Headers;
using Monetization.Core.Billing;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Microsoft.Extensions.DependencyInjection;
using Stripe;

namespace Monetization.Tests.Stripe;

/// <summary>The billing adapter and Stripe.net against the emulator: what each call creates, and what Stripe refuses.</summary>
public sealed class StripeClientTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string> Meta(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public async Task CreatingACustomerStoresEmailNameAndMetadata()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        var id = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("ada@example.com", "Ada Lovelace", Meta(("awsAPIKeyId", "k1"))), "reg-1-customer", Ct);

        var customer = Assert.Single(bed.Emulator.Customers);
        Assert.Equal(id, customer.Id);
        Assert.StartsWith("cus_", id, StringComparison.Ordinal);
        Assert.Equal("ada@example.com", customer.Email);
        Assert.Equal("Ada Lovelace", customer.Name);
        Assert.Equal("k1", customer.Metadata["awsAPIKeyId"]);
    }

    [Fact]
    public async Task UpdatingMetadataMergesKeysAndAnEmptyValueRemovesOne()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var id = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("a@example.com", "A", Meta(("keep", "1"), ("drop", "2"))), "c-1", Ct);

        await bed.Billing.SetCustomerMetadataAsync(id, Meta(("drop", ""), ("awsAPIKeyId", "k9")), "c-1-meta", Ct);

        var metadata = Assert.Single(bed.Emulator.Customers).Metadata;
        Assert.Equal(Meta(("keep", "1"), ("awsAPIKeyId", "k9")), metadata);
    }

    [Fact]
    public async Task ListingCustomersByEmailReturnsOnlyThatEmail()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var wanted = await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "x@example.com", Name = "X" }, StripeTestBed.Key("c-x"), cancellationToken: Ct);
        await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "y@example.com", Name = "Y" }, StripeTestBed.Key("c-y"), cancellationToken: Ct);

        var list = await bed.Stripe.V1.Customers.ListAsync(new CustomerListOptions { Email = "x@example.com", Limit = 10 }, cancellationToken: Ct);

        Assert.Equal(wanted.Id, Assert.Single(list.Data).Id);
        Assert.False(list.HasMore);
    }

    [Fact]
    public async Task MeteredPriceIsBackedByTheMeter()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        var price = Assert.Single(bed.Emulator.Prices);
        var meter = Assert.Single(bed.Emulator.Meters);
        Assert.Equal(bed.PriceId, price.Id);
        Assert.Equal(meter.Id, price.MeterId);
        Assert.Equal("metered", price.UsageType);
        Assert.Equal("sum", meter.Formula);
        Assert.Equal("stripe_customer_id", meter.CustomerPayloadKey);
    }

    [Fact]
    public async Task MeteredPriceWithoutAMeterIsRefusedAsAMissingParameter()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var product = Assert.Single(bed.Emulator.Products);
        var options = new PriceCreateOptions
        {
            Product = product.Id,
            Currency = "usd",
            UnitAmount = 1,
            Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "metered" },
        };

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Stripe.V1.Prices.CreateAsync(options, StripeTestBed.Key("price-no-meter"), Ct));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("parameter_missing", error.StripeError.Code);
        Assert.Equal("recurring[meter]", error.StripeError.Param);
        Assert.Single(bed.Emulator.Prices);
    }

    [Fact]
    public async Task UnknownParameterIsRejectedNamingTheParameter()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var options = new CustomerCreateOptions { Email = "a@example.com" };
        options.AddExtraParam("favourite_colour", "teal");

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Stripe.V1.Customers.CreateAsync(options, StripeTestBed.Key("unknown-param"), Ct));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal("invalid_request_error", error.StripeError.Type);
        Assert.Equal("parameter_unknown", error.StripeError.Code);
        Assert.Equal("favourite_colour", error.StripeError.Param);
        Assert.StartsWith("req_", error.StripeResponse.RequestId, StringComparison.Ordinal);
        Assert.Empty(bed.Emulator.Customers);
    }

    [Fact]
    public async Task SubscribingPutsTheCustomerOnTheConfiguredMeteredPrice()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var customerId = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("s@example.com", "S", Meta()), "c-s", Ct);

        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 14, "c-s-subscribe", Ct);

        Assert.Equal(BillingSubscriptionStatus.Active, subscription.Status);
        Assert.Equal(customerId, subscription.CustomerId);
        var stored = Assert.Single(bed.Emulator.Subscriptions);
        Assert.Equal(bed.PriceId, Assert.Single(stored.Items).PriceId);
        Assert.Equal("send_invoice", stored.CollectionMethod);
        Assert.Equal(14, stored.DaysUntilDue);
        Assert.Equal(subscription, await bed.Billing.GetSubscriptionAsync(subscription.Id, Ct));
    }

    [Fact]
    public async Task RetrievedSubscriptionCarriesItsItemBillingPeriod()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var customer = await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "p@example.com" }, StripeTestBed.Key("c-p"), Ct);
        var created = await bed.Stripe.V1.Subscriptions.CreateAsync(
            new SubscriptionCreateOptions { Customer = customer.Id, Items = [new SubscriptionItemOptions { Price = bed.PriceId }], Metadata = Meta(("plan", "basic")) },
            StripeTestBed.Key("c-p-sub"),
            Ct);

        var subscription = await bed.Stripe.V1.Subscriptions.GetAsync(created.Id, cancellationToken: Ct);

        var item = Assert.Single(subscription.Items.Data);
        Assert.Equal(bed.MeterId, item.Price.Recurring.Meter);
        // Stripe.net reads a missing quantity as 0; the wire must carry none, since a metered price takes no quantity.
        Assert.True(item.RawJsonElement is { } raw && (!raw.TryGetProperty("quantity", out var quantity) || quantity.ValueKind == System.Text.Json.JsonValueKind.Null));
        Assert.True(item.CurrentPeriodEnd > item.CurrentPeriodStart);
        Assert.Equal("basic", subscription.Metadata["plan"]);

        // Since 2025-09-30.clover a subscription created through the API bills in flexible mode unless asked otherwise.
        Assert.Equal("flexible", subscription.BillingMode.Type);
    }

    [Fact]
    public async Task UnknownSubscriptionIsReportedAsAbsent()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        Assert.Null(await bed.Billing.GetSubscriptionAsync("sub_doesnotexist", Ct));
    }

    [Fact]
    public async Task CancellingASubscriptionMakesItCanceled()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var customerId = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("c@example.com", "C", Meta()), "c-c", Ct);
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, "c-c-sub", Ct);

        await bed.Billing.CancelSubscriptionAsync(subscription.Id, "c-c-cancel", Ct);

        Assert.Equal(BillingSubscriptionStatus.Canceled, (await bed.Billing.GetSubscriptionAsync(subscription.Id, Ct))!.Status);
        var stored = Assert.Single(bed.Emulator.Subscriptions);
        Assert.NotNull(stored.CanceledAt);
    }

    [Fact]
    public async Task EveryRequestCarriesTheEndiveApiVersion()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        await bed.Stripe.V1.Customers.ListAsync(new CustomerListOptions { Email = "nobody@example.com" }, cancellationToken: Ct);

        Assert.All(bed.Emulator.Requests, r => Assert.Equal("2026-10-28.endive", r.StripeVersion));
    }

    [Fact]
    public async Task WrongSecretKeyIsRejectedWithoutEchoingTheKey()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        await using var services = StripeTestBed.Services(emulator, billing: false, null, o => o.SecretKey = new("sk_test_wrongwrongwrong"));
        var stripe = services.GetRequiredService<StripeClient>();

        var error = await Assert.ThrowsAsync<StripeKeyRejectedException>(() => stripe.V1.Customers.ListAsync(new CustomerListOptions { Email = "a@example.com" }, cancellationToken: Ct));

        Assert.Equal(401, error.HttpStatus);
        Assert.Equal("GET /v1/customers", error.Operation);
        Assert.Contains(StripeKeyRejectedException.Setting, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("req_", error.RequestId, StringComparison.Ordinal);
        Assert.DoesNotContain("wrongwrong", error.ToString(), StringComparison.Ordinal);
        Assert.Single(emulator.Requests);
    }

    [Fact]
    public async Task EmulatorRefusesARequestWithoutAnApiKey()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = new HttpClient { BaseAddress = emulator.Endpoint };

        using var anonymous = await http.GetAsync(new Uri("/v1/customers", UriKind.Relative), Ct);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/customers");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", emulator.SecretKey);
        using var authorised = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Contains("\"invalid_request_error\"", await anonymous.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.True(anonymous.Headers.Contains("Request-Id"));
        Assert.Equal(HttpStatusCode.OK, authorised.StatusCode);
    }

    [Fact]
    public async Task PostWithoutALedgerIdempotencyKeyIsRefusedBeforeAnythingIsSent()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var before = bed.Emulator.Requests.Count;

        // Stripe.net gives such a POST a random GUID key, which a retried flow would not repeat.
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "a@example.com" }, cancellationToken: Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(
            () => bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = "a@example.com" }, StripeTestBed.Key(Guid.NewGuid().ToString()), Ct));

        Assert.Contains("POST /v1/customers", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, bed.Emulator.Requests.Count);
        Assert.Empty(bed.Emulator.Customers);
    }
}
