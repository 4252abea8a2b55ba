using System.Net;
using Microsoft.Extensions.Time.Testing;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Billing;

/// <summary>
/// A paying subscriber's own spend cap, on the real Portal, moto and the Stripe emulator: set on the account page, it
/// stops the key at the usage report that finds the billing period's charge at or above it (with one e-mail), keeps
/// billing what the key served meanwhile, and lets the key work again when it is raised or the next period begins.
/// The metered price is 0.1 cents a request, so 500 requests cost 0.50 USD (and 495 do too: Stripe rounds a line's
/// amount half away from zero, and so does the estimate).
/// </summary>
public sealed class SpendCapTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private const string PausedSubject = "Your API key is paused: your spend cap is reached";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    private static readonly TimeSpan Settle = TimeSpan.FromHours(1);

    private async Task<AccountBrowser> PayingWithCapAsync(string email, string cap)
    {
        var (browser, _, _) = await portal.PaidAsync(email, webhooks: false);
        using var set = await browser.PostFormAsync("/account/cap", await browser.AccountPageAsync(), ("cap", cap));
        Assert.Equal(HttpStatusCode.SeeOther, set.StatusCode);
        Assert.Equal("/account", set.Headers.Location?.OriginalString);
        return browser;
    }

    private long Billed(string? customerId) => portal.Stripe.MeterEvents.Where(e => e.CustomerId == customerId).Sum(e => e.Value);

    private int Paused(string email) => portal.Mail.To(email).Count(m => m.Subject == PausedSubject);

    [Fact]
    public async Task AReachedCapStopsTheKeyAtTheNextReportMailsOnceBillsWhatItServedAndRaisingItRestoresTheKey()
    {
        const string email = "cap-reached@example.com";
        using var browser = await PayingWithCapAsync(email, "0.50");
        var keyId = await portal.KeyIdOf(email);
        var withCap = await browser.AccountPageAsync();

        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 490);
        var below = await portal.ReportUsageAsync(Settle);
        var accessBelow = await portal.AccessAsync(keyId);
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 10);
        var reached = await portal.ReportUsageAsync(Settle);
        var accessReached = await portal.AccessAsync(keyId);
        var pausedPage = await browser.AccountPageAsync();

        // Served while the key was being stopped: counted late, billed like any other.
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 7);
        var after = await portal.ReportUsageAsync(Settle);
        var record = (await portal.RecordAsync(email))!;

        Assert.Contains("id=\"spend-cap\">0.50 USD<", withCap, StringComparison.Ordinal);
        Assert.Contains("id=\"spend-period\">0.00 USD<", withCap, StringComparison.Ordinal);
        Assert.Equal((0, 0), (below.Failures, below.Stripe.CapsReached));
        Assert.Equal((true, true), accessBelow);
        Assert.Equal((0, 1, 1), (reached.Failures, reached.Stripe.CapsReached, reached.Stripe.CapEmailsSent));
        Assert.Equal((false, true), accessReached);
        Assert.Equal("Paused by your spend cap", AccountBrowser.StatusOn(pausedPage));
        Assert.Contains("id=\"spend-period\">0.50 USD<", pausedPage, StringComparison.Ordinal);
        Assert.Contains("does not work now", pausedPage, StringComparison.Ordinal);
        Assert.Equal(0, after.Failures);
        Assert.Equal(507, Billed(record.StripeCustomerId));
        Assert.Equal(1, Paused(email));
        var mail = portal.Mail.To(email).Single(m => m.Subject == PausedSubject);
        Assert.Contains("0.50 USD", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(portal.Environment.AccountPageUrl.ToString(), mail.TextBody, StringComparison.Ordinal);
        Assert.NotNull(record.CapReachedAt);
        Assert.Equal(50, record.SpendCap);

        using var raised = await browser.PostFormAsync("/account/cap", pausedPage, ("cap", "5"));
        var restored = await portal.AccessAsync(keyId);
        var raisedRecord = (await portal.RecordAsync(email))!;
        var raisedPage = await browser.AccountPageAsync();
        var quiet = await portal.ReportUsageAsync(Settle);

        Assert.Equal(HttpStatusCode.SeeOther, raised.StatusCode);
        Assert.Equal((true, true), restored);
        Assert.Equal(500, raisedRecord.SpendCap);
        Assert.Null(raisedRecord.CapReachedAt);
        Assert.Equal("Active", AccountBrowser.StatusOn(raisedPage));
        Assert.Contains("id=\"spend-cap\">5.00 USD<", raisedPage, StringComparison.Ordinal);
        Assert.Equal((0, 0), (quiet.Failures, quiet.Stripe.CapsReached));
        Assert.Equal(1, Paused(email));
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
    }

    [Fact]
    public async Task ACapSetBelowWhatThePeriodAlreadyCostsStopsTheKeyAtOnceAndRemovingItRestoresIt()
    {
        const string email = "cap-lowered@example.com";
        var (browser, keyId, _) = await portal.PaidAsync(email, webhooks: false);
        using var _ = browser;
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 300);
        await portal.ReportUsageAsync(Settle);

        using var lowered = await browser.PostFormAsync("/account/cap", await browser.AccountPageAsync(), ("cap", "0.25"));
        var stopped = await portal.AccessAsync(keyId);
        var page = await browser.AccountPageAsync();
        var mailing = await portal.ReportUsageAsync(Settle);
        using var removed = await browser.PostFormAsync("/account/cap", page, ("cap", string.Empty));
        var record = (await portal.RecordAsync(email))!;

        Assert.Equal(HttpStatusCode.SeeOther, lowered.StatusCode);
        Assert.Equal((false, true), stopped);
        Assert.Equal("Paused by your spend cap", AccountBrowser.StatusOn(page));
        Assert.Equal(1, mailing.Stripe.CapEmailsSent);
        Assert.Equal(1, Paused(email));
        Assert.Equal(HttpStatusCode.SeeOther, removed.StatusCode);
        Assert.Null(record.SpendCap);
        Assert.Null(record.CapReachedAt);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Contains("No cap is set", await browser.AccountPageAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheNextBillingPeriodLiftsTheStopAndASubscriptionEventMeanwhileLeavesTheKeyStopped()
    {
        const string email = "cap-period@example.com";
        using var browser = await PayingWithCapAsync(email, "0.10");
        var keyId = await portal.KeyIdOf(email);
        var subscriptionId = (await portal.RecordAsync(email))!.StripeSubscriptionId!;
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 150);
        await portal.ReportUsageAsync(Settle);
        var stopped = await portal.AccessAsync(keyId);

        // Stripe tells of the subscription again (an invoice paid, say): access follows it, but the cap still holds.
        portal.DeliverWebhooks(true);
        var delivery = await portal.Stripe.SendSubscriptionEventAsync(subscriptionId, "customer.subscription.updated", Ct);
        portal.DeliverWebhooks(false);
        var afterEvent = await portal.AccessAsync(keyId);

        var record = (await portal.RecordAsync(email))!;
        var nextPeriod = new FakeTimeProvider(record.PeriodEnd!.Value.AddHours(2));
        var lifted = await portal.ReportUsageAsync(Settle, nextPeriod);

        Assert.Equal((false, true), stopped);
        Assert.Equal(200, delivery.StatusCode);
        Assert.Equal((false, true), afterEvent);
        Assert.NotNull(record.PeriodStart);
        Assert.True(record.PeriodEnd > DateTimeOffset.UtcNow);
        Assert.Equal(0, lifted.Failures);
        Assert.Equal(1, lifted.Stripe.CapsLifted);
        Assert.Equal((true, true), await portal.AccessAsync(keyId));
        Assert.Null((await portal.RecordAsync(email))!.CapReachedAt);
        Assert.Equal(150, Billed(record.StripeCustomerId));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-5")]
    [InlineData("0")]
    [InlineData("0.00")]
    [InlineData("1.234")]
    [InlineData("1e5")]
    [InlineData("$5")]
    [InlineData("5 USD")]
    [InlineData("1000000.01")]
    [InlineData("5.")]
    [InlineData(".5")]
    public async Task AnAmountThatIsNotOneChangesNothingAndThePageSaysWhy(string typed)
    {
        var email = $"cap-bad-{Convert.ToHexString(System.Text.Encoding.UTF8.GetBytes(typed)).ToLowerInvariant()}@example.com";
        using var browser = await PayingWithCapAsync(email, "2.50");
        var before = (await portal.RecordAsync(email))!;

        using var refused = await browser.PostFormAsync("/account/cap", await browser.AccountPageAsync(), ("cap", typed));
        var page = await browser.AccountPageAsync();
        var noticed = await browser.Http.GetStringAsync(refused.Headers.Location, Ct);
        var after = (await portal.RecordAsync(email))!;

        Assert.Equal(HttpStatusCode.SeeOther, refused.StatusCode);
        Assert.Equal("/account?notice=cap-invalid", refused.Headers.Location?.OriginalString);
        Assert.Contains("The cap was not changed", noticed, StringComparison.Ordinal);
        Assert.Equal((250L, before.Version), (after.SpendCap, after.Version));
        Assert.Contains("id=\"spend-cap\">2.50 USD<", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NobodyButAPayingSubscriberCanSetACap()
    {
        const string free = "cap-free@example.com";
        using var freeBrowser = await portal.SignInAsync(free);
        using (await freeBrowser.PressAsync("/account/free"))
        {
        }

        await portal.KeyIdOf(free);
        var freePage = await freeBrowser.AccountPageAsync();
        using var freeRefused = await freeBrowser.PostFormAsync("/account/cap", freePage, ("cap", "5"));
        using var stranger = portal.NewBrowser();
        using var anonymous = await stranger.Http.PostAsync("/account/cap", new FormUrlEncodedContent([new("cap", "5")]), Ct);

        Assert.DoesNotContain("spend-cap-form", freePage, StringComparison.Ordinal);
        Assert.Equal("/account?notice=cap-not-paying", freeRefused.Headers.Location?.OriginalString);
        Assert.Null((await portal.RecordAsync(free))!.SpendCap);
        Assert.Equal(HttpStatusCode.SeeOther, anonymous.StatusCode);
        Assert.Equal("/account", anonymous.Headers.Location?.OriginalString);
    }
}
