using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Monetization.Emulators;
using Monetization.Emulators.Stripe;

namespace Monetization.Tests.Stripe;

/// <summary>The emulator's own contract, spoken over raw HTTP the way any client (or the sandbox) would.</summary>
public sealed class StripeEmulatorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static HttpClient Http(StripeEmulator emulator)
    {
        var http = new HttpClient { BaseAddress = emulator.Endpoint };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.SecretKey);
        return http;
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body, HttpResponseMessage Response)> PostFormAsync(HttpClient http, string path, string? idempotencyKey, params (string Key, string Value)[] form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new FormUrlEncodedContent(form.Select(p => new KeyValuePair<string, string>(p.Key, p.Value))),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        var response = await http.SendAsync(request, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;
        return (response.StatusCode, body, response);
    }

    [Fact]
    public async Task UnknownNestedParameterIsNamedInTheError()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = Http(emulator);

        var (status, body, response) = await PostFormAsync(http, "/v1/billing/meters", null, ("display_name", "d"), ("event_name", "e"), ("default_aggregation[formula]", "sum"), ("default_aggregation[window]", "x"));
        response.Dispose();

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("parameter_unknown", (string?)body["error"]!["code"]);
        Assert.Equal("default_aggregation[window]", (string?)body["error"]!["param"]);
    }

    [Fact]
    public async Task UnknownIdInThePathIsResourceMissing()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = Http(emulator);

        using var response = await http.GetAsync(new Uri("/v1/customers/cus_nope", UriKind.Relative), Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("resource_missing", (string?)body["error"]!["code"]);
        Assert.Equal("id", (string?)body["error"]!["param"]);
        Assert.Equal("No such customer: 'cus_nope'", (string?)body["error"]!["message"]);
    }

    [Theory]
    [InlineData("customer:josé@exämple.com")]
    [InlineData("customer:tab\tinside")]
    [InlineData("customer:256-characters")]
    public async Task IdempotencyKeyStripeCannotTakeIsRefusedInItsErrorShapeAndCreatesNothing(string idempotencyKey)
    {
        var key = idempotencyKey.EndsWith(":256-characters", StringComparison.Ordinal) ? new string('k', 256) : idempotencyKey;
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);

        // A client that sends what HttpClient refuses by default: header values as UTF-8.
        using var http = new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => System.Text.Encoding.UTF8 })
        {
            BaseAddress = emulator.Endpoint,
        };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", emulator.SecretKey);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/customers")
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("email", "a@example.com")]),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!["error"]!;
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Equal("Idempotency-Key", (string?)error["param"]);
        Assert.Empty(emulator.Customers);
    }

    [Fact]
    public async Task ReplayedResponseIsMarkedAndKeepsTheOriginalBody()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = Http(emulator);

        var (_, first, firstResponse) = await PostFormAsync(http, "/v1/customers", "k1", ("email", "r@example.com"), ("metadata[a]", "1"));
        var (_, second, secondResponse) = await PostFormAsync(http, "/v1/customers", "k1", ("metadata[a]", "1"), ("email", "r@example.com"));
        using (firstResponse)
        using (secondResponse)
        {
            Assert.False(firstResponse.Headers.Contains("Idempotent-Replayed"));
            Assert.Equal("true", secondResponse.Headers.GetValues("Idempotent-Replayed").Single());
        }

        Assert.Equal(first.ToJsonString(), second.ToJsonString());
        Assert.Equal("customer", (string?)first["object"]);
        Assert.False((bool)first["livemode"]!);
    }

    [Fact]
    public async Task EmptyMetadataParameterClearsEveryKey()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = Http(emulator);
        var (_, created, r1) = await PostFormAsync(http, "/v1/customers", "c", ("metadata[a]", "1"), ("metadata[b]", "2"));
        r1.Dispose();

        var (status, updated, r2) = await PostFormAsync(http, $"/v1/customers/{created["id"]}", "u", ("metadata", ""));
        r2.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(updated["metadata"]!.AsObject());
    }

    [Fact]
    public async Task FaultPostedThroughTheControlApiIsAppliedAsManyTimesAsAsked()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = Http(emulator);
        using var added = await http.PostAsJsonAsync(
            new Uri("/_emulator/faults", UriKind.Relative),
            new { method = "GET", pathPrefix = "/v1/customers", kind = "status", status = 503, count = 1, headers = new Dictionary<string, string> { ["Stripe-Should-Retry"] = "true" } },
            Ct);

        using var faulted = await http.GetAsync(new Uri("/v1/customers", UriKind.Relative), Ct);
        using var normal = await http.GetAsync(new Uri("/v1/customers", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.Created, added.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, faulted.StatusCode);
        Assert.Equal("true", faulted.Headers.GetValues("Stripe-Should-Retry").Single());
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
        Assert.Empty(emulator.Faults.Active);
    }

    [Fact]
    public async Task ClearingFaultsThroughTheControlApiRemovesThem()
    {
        await using var emulator = await StripeEmulator.StartAsync(cancellationToken: Ct);
        using var http = Http(emulator);
        using var added = await http.PostAsJsonAsync(new Uri("/_emulator/faults", UriKind.Relative), new { kind = "reset" }, Ct);

        using var cleared = await http.DeleteAsync(new Uri("/_emulator/faults", UriKind.Relative), Ct);
        using var normal = await http.GetAsync(new Uri("/v1/customers", UriKind.Relative), Ct);

        Assert.Equal(HttpStatusCode.NoContent, cleared.StatusCode);
        Assert.Equal(HttpStatusCode.OK, normal.StatusCode);
    }

    [Fact]
    public async Task SubscriptionStatusCanBeSetThroughTheControlApi()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var customerId = await bed.Billing.CreateCustomerAsync(new("s@example.com", "S", new Dictionary<string, string>()), "c", Ct);
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, "s", Ct);
        using var http = Http(bed.Emulator);

        using var response = await http.PostAsJsonAsync(new Uri($"/_emulator/subscriptions/{subscription.Id}/status", UriKind.Relative), new { status = "unpaid", deliver = false }, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("unpaid", (string?)body["subscription"]!["status"]);
        Assert.Equal("unpaid", Assert.Single(bed.Emulator.Subscriptions).Status);
    }

    private static readonly string[] Statuses = ["active", "trialing", "past_due", "unpaid", "paused", "canceled", "incomplete", "incomplete_expired"];

    /// <summary>
    /// A subscription that ended the way Stripe ends one: <c>canceled</c> through <c>DELETE /v1/subscriptions/{id}</c>,
    /// <c>incomplete_expired</c> after its first payment stayed incomplete. Deliveries go to a port nothing listens
    /// on, so a call that tried to deliver would fail with <see cref="HttpRequestException"/> (502 on the control API).
    /// </summary>
    private static async Task<EmulatedSubscription> EndedSubscriptionAsync(StripeTestBed bed, string ended)
    {
        var customerId = await bed.Billing.CreateCustomerAsync(new($"{ended}@example.com", "E", new Dictionary<string, string>()), $"c-{ended}", Ct);
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, $"s-{ended}", Ct);
        if (ended == "canceled")
        {
            await bed.Billing.CancelSubscriptionAsync(subscription.Id, $"cancel-{ended}", Ct);
        }
        else
        {
            await bed.Emulator.SetSubscriptionStatusAsync(subscription.Id, "incomplete", Ct);
            await bed.Emulator.SetSubscriptionStatusAsync(subscription.Id, "incomplete_expired", Ct);
        }

        bed.Emulator.WebhookUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}/stripe/webhook");
        var after = Assert.Single(bed.Emulator.Subscriptions);
        Assert.Equal(ended, after.Status);
        Assert.NotNull(after.EndedAt);
        return after;
    }

    [Theory]
    [InlineData("canceled")]
    [InlineData("incomplete_expired")]
    public async Task AnEndedSubscriptionCannotBeMovedToAnotherStatusAndStaysAsItWas(string ended)
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var before = await EndedSubscriptionAsync(bed, ended);
        var events = bed.Emulator.Events.Count;

        foreach (var status in Statuses.Where(s => s != ended))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => bed.Emulator.SetSubscriptionStatusAsync(before.Id, status, Ct));

            Assert.Contains($"is {ended}", refused.Message, StringComparison.Ordinal);
            Assert.Contains($"cannot become {status}", refused.Message, StringComparison.Ordinal);
            Assert.Contains("new subscription", refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(before, Assert.Single(bed.Emulator.Subscriptions));
        Assert.Equal(ended, (await bed.Stripe.V1.Subscriptions.GetAsync(before.Id, null, null, Ct)).Status);
        Assert.Equal(events, bed.Emulator.Events.Count);
        Assert.Empty(bed.Emulator.Deliveries);
    }

    [Theory]
    [InlineData("canceled", true)]
    [InlineData("canceled", false)]
    [InlineData("incomplete_expired", true)]
    [InlineData("incomplete_expired", false)]
    public async Task TheControlApiRefusesToReactivateAnEndedSubscriptionWith400AndChangesNothing(string ended, bool deliver)
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var before = await EndedSubscriptionAsync(bed, ended);
        var events = bed.Emulator.Events.Count;
        using var http = Http(bed.Emulator);

        using var response = await http.PostAsJsonAsync(new Uri($"/_emulator/subscriptions/{before.Id}/status", UriKind.Relative), new { status = "active", deliver }, Ct);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(Ct))!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var message = (string?)body["error"];
        Assert.Contains($"is {ended}", message, StringComparison.Ordinal);
        Assert.Contains("cannot become active", message, StringComparison.Ordinal);
        Assert.Equal(before, Assert.Single(bed.Emulator.Subscriptions));
        Assert.Equal(events, bed.Emulator.Events.Count);
        Assert.Empty(bed.Emulator.Deliveries);
    }

    [Fact]
    public async Task CancelingACanceledSubscriptionAgainKeepsItsCancellationTimeAndDeliversAnotherDeletedEvent()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        var before = await EndedSubscriptionAsync(bed, "canceled");
        await using var receiver = await LoopbackServer.OnFreePortAsync(
            async (port, ct) =>
            {
                var app = LoopbackServer.CreateApp(port);
                app.MapPost("/stripe/webhook", () => Results.Ok());
                await app.StartAsync(ct);
                bed.Emulator.WebhookUrl = new Uri($"http://127.0.0.1:{port}/stripe/webhook");
                return app;
            },
            Ct);

        var delivery = await bed.Emulator.SetSubscriptionStatusAsync(before.Id, "canceled", Ct);

        Assert.Equal(200, delivery!.StatusCode);
        Assert.Equal("customer.subscription.deleted", delivery.Type);
        Assert.Equal("canceled", (string?)JsonNode.Parse(delivery.Payload)!["data"]!["object"]!["status"]);
        Assert.Equal(before, Assert.Single(bed.Emulator.Subscriptions));
    }
}
