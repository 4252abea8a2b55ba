using System.Net;
using Monetization.Emulators.Faults;
using Monetization.Tests.Accounts;
using Monetization.Tests.Registration;

namespace Monetization.Tests.Billing;

/// <summary>Invoice collection (the registration fixture's mode) with Stripe's webhooks arriving while subscribing runs.</summary>
public sealed class InvoiceWebhookTests(PortalFixture portal) : IClassFixture<PortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheSubscriptionCreatedEventOfASubscribeThatFailedGrantsTheRecordedKeyWhichTheAccountThenShowsOnce()
    {
        const string email = "invoice-webhook-race@example.com";
        portal.Environment.Stripe.WebhookUrl = null;
        using var browser = await portal.SignInAsync(email);
        // Stripe made the subscription, then asking the key minting queue for the key failed: the subscribe failed after it.
        portal.Environment.Sqs.Faults.Add(new FaultRule { Method = "POST", PathPrefix = "/", Kind = FaultKind.Status, Status = 500 });
        using (var failed = await browser.PressAsync("/account/subscribe"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        }

        portal.Environment.Sqs.Faults.Clear();
        (await RegistrationState.ReadAsync(portal.Environment, email)).AssertNoAccessAndNoDuplicates();
        var customerId = (await RegistrationState.ReadAsync(portal.Environment, email)).Customers.Single().Id;
        var created = portal.Environment.Stripe.Events.Single(e => e.Type == "customer.subscription.created" && e.Payload.Contains(customerId, StringComparison.Ordinal));
        portal.Environment.Stripe.WebhookUrl = new Uri(portal.Http.BaseAddress!, "stripe/webhook");
        var delivery = await portal.Environment.Stripe.DeliverEventAsync(created.Id, Ct);
        portal.Environment.Stripe.WebhookUrl = null;

        Assert.Equal(200, delivery.StatusCode);
        var shown = await portal.MintedKeyAsync(browser);
        (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        Assert.Null(await browser.KeyOnceMintedAsync());
    }

    [Fact]
    public async Task AnInvoiceSubscribersKeyIsDisabledWhenTheSubscriptionGoesUnpaidAndRestoredWhenPaid()
    {
        const string email = "invoice-unpaid@example.com";
        portal.Environment.Stripe.WebhookUrl = null;
        var (browser, keyId, _) = await portal.SignUpAsync(email);
        using var _ = browser;
        var subscription = (await RegistrationState.ReadAsync(portal.Environment, email)).Subscriptions.Single();
        portal.Environment.Stripe.WebhookUrl = new Uri(portal.Http.BaseAddress!, "stripe/webhook");
        try
        {
            Assert.Equal(200, (await portal.Environment.Stripe.SetSubscriptionStatusAsync(subscription.Id, "unpaid", Ct))!.StatusCode);
            var suspended = await RegistrationState.ReadAsync(portal.Environment, email);
            Assert.False(suspended.Keys.Single().Enabled);
            Assert.Equal([keyId], suspended.KeysInPlan);

            Assert.Equal(200, (await portal.Environment.Stripe.SetSubscriptionStatusAsync(subscription.Id, "active", Ct))!.StatusCode);
            (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(keyId, portal.Environment.PriceId);
        }
        finally
        {
            portal.Environment.Stripe.WebhookUrl = null;
        }
    }
}
