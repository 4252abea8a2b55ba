using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Emulators;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Monetization.Stripe.Webhooks;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Stripe;

public sealed class StripeWebhookTests
{
    private const string Secret = "whsec_test_4eC39HqLyjWDarjtT1zdp7dc";
    private const string Payload = """{"id":"evt_1","object":"event","api_version":"2026-10-28.endive","type":"customer.subscription.updated","created":1773144000,"data":{"object":{"id":"sub_1","object":"subscription","customer":"cus_1","status":"past_due"}}}""";

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1773144000);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StripeWebhookVerifier Verifier(DateTimeOffset now, string secret = Secret) => new(new Secret(secret), new ManualTimeProvider(now));

    [Fact]
    public void ValidSignatureIsAcceptedAndTheEventIsRead()
    {
        var header = StripeWebhookSignature.Compute(Secret, Payload, Now);

        var result = Verifier(Now.AddSeconds(30)).Verify(Payload, header);

        Assert.Equal(StripeWebhookOutcome.Valid, result.Outcome);
        Assert.Equal(new StripeWebhookEvent("evt_1", "customer.subscription.updated", Now, "subscription", "sub_1", "cus_1", "past_due", "sub_1"), result.Event);
    }

    [Fact]
    public void SignatureMadeWithAnotherSecretIsRejected()
    {
        var header = StripeWebhookSignature.Compute("whsec_someone_else", Payload, Now);

        var result = Verifier(Now).Verify(Payload, header);

        Assert.Equal(StripeWebhookOutcome.SignatureMismatch, result.Outcome);
        Assert.Null(result.Event);
    }

    [Fact]
    public void TamperedBodyIsRejected()
    {
        var header = StripeWebhookSignature.Compute(Secret, Payload, Now);

        var result = Verifier(Now).Verify(Payload.Replace("past_due", "active", StringComparison.Ordinal), header);

        Assert.Equal(StripeWebhookOutcome.SignatureMismatch, result.Outcome);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    public void SignatureOutsideTheFiveMinuteToleranceIsRejected(int secondsFromNow)
    {
        var header = StripeWebhookSignature.Compute(Secret, Payload, Now);

        var result = Verifier(Now.AddSeconds(-secondsFromNow)).Verify(Payload, header);

        Assert.Equal(StripeWebhookOutcome.OutsideTolerance, result.Outcome);
    }

    [Fact]
    public void HeaderWithSeveralV1SignaturesIsAcceptedWhenOneMatches()
    {
        var t = Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var stale = StripeWebhookSignature.Sign("whsec_rolled_away", t, Payload);
        var current = StripeWebhookSignature.Sign(Secret, t, Payload);

        var result = Verifier(Now).Verify(Payload, $"t={t},v1={stale},v0=ignored,v1={current}");

        Assert.True(result.IsValid);
    }

    [Theory]
    [InlineData(null, StripeWebhookOutcome.MissingSignature)]
    [InlineData("", StripeWebhookOutcome.MissingSignature)]
    [InlineData("   ", StripeWebhookOutcome.MissingSignature)]
    [InlineData("v1=abc", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=1773144000", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=soon,v1=abc", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=99999999999,v1=abc", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=1773144000,v1=abc,", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=1773144000,junk,v1=abc", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=1773144000,t=1773144001,v1=abc", StripeWebhookOutcome.MalformedSignature)]
    [InlineData("t=1773144000,v1=abc", StripeWebhookOutcome.SignatureMismatch)]
    public void MissingOrMalformedHeaderIsRejected(string? header, StripeWebhookOutcome outcome)
    {
        Assert.Equal(outcome, Verifier(Now).Verify(Payload, header).Outcome);
    }

    [Theory]
    [InlineData("2025-03-31.basil")]
    [InlineData("2026-03-25.dahlia")]
    [InlineData(null)]
    public void SignedEventAtAnotherApiVersionIsRefusedAsSuch(string? version)
    {
        var body = version is null
            ? Payload.Replace("\"api_version\":\"2026-10-28.endive\",", string.Empty, StringComparison.Ordinal)
            : Payload.Replace("2026-10-28.endive", version, StringComparison.Ordinal);
        var header = StripeWebhookSignature.Compute(Secret, body, Now);

        var result = Verifier(Now).Verify(body, header);

        Assert.Equal(StripeWebhookOutcome.ApiVersionMismatch, result.Outcome);
        Assert.Null(result.Event);
    }

    [Fact]
    public void AnInvoiceEventNamesItsSubscriptionThroughItsParent()
    {
        const string invoice = """{"id":"evt_2","object":"event","api_version":"2026-10-28.endive","type":"invoice.paid","created":1773144000,"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1","status":"paid","parent":{"type":"subscription_details","subscription_details":{"subscription":"sub_9","metadata":{}}}}}}""";
        var header = StripeWebhookSignature.Compute(Secret, invoice, Now);

        var result = Verifier(Now).Verify(invoice, header);

        Assert.Equal(new StripeWebhookEvent("evt_2", "invoice.paid", Now, "invoice", "sub_9", "cus_1", "paid", "in_1"), result.Event);
    }

    [Fact]
    public void SignedBodyThatIsNotJsonIsReportedAsMalformed()
    {
        const string notJson = "not json {";
        var header = StripeWebhookSignature.Compute(Secret, notJson, Now);

        Assert.Equal(StripeWebhookOutcome.MalformedPayload, Verifier(Now).Verify(notJson, header).Outcome);
    }

    [Fact]
    public void SignedBodyThatIsNotAnEventIsReportedAsMalformed()
    {
        const string notAnEvent = """{"hello":"world"}""";
        var header = StripeWebhookSignature.Compute(Secret, notAnEvent, Now);

        Assert.Equal(StripeWebhookOutcome.MalformedPayload, Verifier(Now).Verify(notAnEvent, header).Outcome);
    }

    [Theory]
    [InlineData("active", BillingSubscriptionStatus.Active)]
    [InlineData("trialing", BillingSubscriptionStatus.Trialing)]
    [InlineData("past_due", BillingSubscriptionStatus.PastDue)]
    [InlineData("unpaid", BillingSubscriptionStatus.Unpaid)]
    [InlineData("paused", BillingSubscriptionStatus.Paused)]
    [InlineData("canceled", BillingSubscriptionStatus.Canceled)]
    [InlineData("incomplete", BillingSubscriptionStatus.Incomplete)]
    [InlineData("incomplete_expired", BillingSubscriptionStatus.IncompleteExpired)]
    [InlineData("something_new", BillingSubscriptionStatus.Other)]
    public void StripeStatusesMapToBillingStatuses(string status, BillingSubscriptionStatus expected)
    {
        Assert.Equal(expected, StripeBilling.MapStatus(status));
    }

    [Fact]
    public async Task EmulatorDeliversASignedSubscriptionEventThatVerifies()
    {
        var received = new TaskCompletionSource<(string Body, string? Signature)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        await using var receiver = builder.Build();
        receiver.MapPost("/stripe/webhook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();

            // Creating the subscription emits customer.subscription.created first, as Stripe does; this test is about the update.
            if (System.Text.Json.Nodes.JsonNode.Parse(body)?["type"]?.GetValue<string>() == "customer.subscription.updated")
            {
                received.TrySetResult((body, request.Headers["Stripe-Signature"].ToString()));
            }

            return Results.Ok();
        });
        await receiver.StartAsync(Ct);
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.WebhookUrl = new Uri($"http://127.0.0.1:{port}/stripe/webhook");
        var customerId = await bed.Billing.CreateCustomerAsync(new NewBillingCustomer("w@example.com", "W", new Dictionary<string, string>()), "c-w", Ct);
        var subscription = await bed.Billing.SubscribeByInvoiceAsync(customerId, 30, "c-w-sub", Ct);

        var delivery = await bed.Emulator.SetSubscriptionStatusAsync(subscription.Id, "past_due", Ct);
        var (body, signature) = await received.Task.WaitAsync(TimeSpan.FromSeconds(10), Ct);

        Assert.Equal(200, delivery!.StatusCode);
        var result = new StripeWebhookVerifier(new Secret(bed.Emulator.WebhookSecret), TimeProvider.System).Verify(body, signature);
        Assert.True(result.IsValid, result.Outcome.ToString());
        Assert.Equal(delivery.EventId, result.Event!.Id);
        Assert.Equal("customer.subscription.updated", result.Event.Type);
        Assert.Equal(subscription.Id, result.Event.SubscriptionId);
        Assert.Equal("past_due", result.Event.Status);
        Assert.Equal(BillingSubscriptionStatus.PastDue, (await bed.Billing.GetSubscriptionAsync(subscription.Id, Ct))!.Status);
    }
}
