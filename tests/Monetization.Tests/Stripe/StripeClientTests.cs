using System.Net;
using System.Net.Http.Headers;
using Monetization.Core.Billing;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Monetization.Stripe.Operations;
using Monetization.Stripe.Wire;
using Microsoft.Extensions.DependencyInjection;

namespace Monetization.Tests.Stripe;

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
        var wanted = await bed.Client.CreateCustomerAsync(new CreateCustomer("x@example.com", "X", null), "c-x", Ct);
        await bed.Client.CreateCustomerAsync(new CreateCustomer("y@example.com", "Y", null), "c-y", Ct);

        var list = await bed.Client.ListCustomersByEmailAsync(new ListCustomersByEmail("x@example.com"), Ct);

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
        var operation = new RawOperation<StripePrice>(
            HttpMethod.Post,
            "/v1/prices",
            StripeJsonContext.Default.StripePrice,
            new("product", product.Id),
            new("currency", "usd"),
            new("unit_amount", "1"),
            new("recurring[interval]", "month"),
            new("recurring[usage_type]", "metered"));

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Client.SendAsync(operation, "price-no-meter", Ct));

        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("parameter_missing", error.Code);
        Assert.Equal("recurring[meter]", error.Param);
        Assert.Single(bed.Emulator.Prices);
    }

    [Fact]
    public async Task UnknownParameterIsRejectedNamingTheParameter()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var operation = new RawOperation<StripeCustomer>(
            HttpMethod.Post,
            "/v1/customers",
            StripeJsonContext.Default.StripeCustomer,
            new("email", "a@example.com"),
            new("favourite_colour", "teal"));

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Client.SendAsync(operation, "unknown-param", Ct));

        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Equal("parameter_unknown", error.Code);
        Assert.Equal("favourite_colour", error.Param);
        Assert.StartsWith("req_", error.RequestId, StringComparison.Ordinal);
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
        var customer = await bed.Client.CreateCustomerAsync(new CreateCustomer("p@example.com", null, null), "c-p", Ct);
        var created = await bed.Client.CreateSubscriptionAsync(new CreateSubscription(customer.Id, bed.PriceId, Meta(("plan", "basic"))), "c-p-sub", Ct);

        var subscription = await bed.Client.RetrieveSubscriptionAsync(new RetrieveSubscription(created.Id), Ct);

        var item = Assert.Single(subscription.Items!.Data);
        Assert.Equal(bed.MeterId, item.Price!.Recurring!.Meter);
        Assert.Null(item.Quantity);
        Assert.True(item.CurrentPeriodEnd > item.CurrentPeriodStart);
        Assert.Equal("basic", subscription.Metadata["plan"]);
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
    public async Task EveryRequestCarriesThePinnedStripeVersion()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        await bed.Client.ListCustomersByEmailAsync(new ListCustomersByEmail("nobody@example.com"), Ct);

        Assert.All(bed.Emulator.Requests, r => Assert.Equal(StripeClient.ApiVersion, r.StripeVersion));
        Assert.EndsWith(".basil", StripeClient.ApiVersion, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongSecretKeyIsRejectedWithoutEchoingTheKey()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        await using var services = StripeTestBed.Services(emulator, billing: false, null, o => o.SecretKey = new("sk_test_wrongwrongwrong"));
        var client = services.GetRequiredService<StripeClient>();

        var error = await Assert.ThrowsAsync<StripeException>(() => client.ListCustomersByEmailAsync(new ListCustomersByEmail("a@example.com"), Ct));

        Assert.Equal(401, error.HttpStatus);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.DoesNotContain("wrongwrong", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrongwrong", error.ToString(), StringComparison.Ordinal);
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
    public async Task PostWithoutAnIdempotencyKeyIsRefusedBeforeAnythingIsSent()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var before = bed.Emulator.Requests.Count;

        await Assert.ThrowsAsync<ArgumentException>(() => bed.Client.SendAsync(new CreateCustomer("a@example.com", null, null), null, Ct));

        Assert.Equal(before, bed.Emulator.Requests.Count);
    }
}
