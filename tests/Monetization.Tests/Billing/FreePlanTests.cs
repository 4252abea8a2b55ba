using System.Net;
using System.Net.Http.Json;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Billing;

/// <summary>
/// The free plan on the real Portal, moto and the Stripe emulator: a verified address gets a working key without a card
/// or any Stripe object, in the free usage plan; paying later moves the same key to the paid plan, and only what it
/// served there is billed, once.
/// </summary>
public sealed class FreePlanTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    private async Task<(bool Enabled, bool InFree, bool InPaid)> WhereIsAsync(string keyId)
    {
        var key = (await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == keyId);
        return (
            key.Enabled,
            (await portal.Environment.UsagePlanKeyIdsAsync(portal.Environment.FreeUsagePlanId, Ct)).Contains(keyId),
            (await portal.Environment.UsagePlanKeyIdsAsync(portal.Environment.StripeUsagePlanId, Ct)).Contains(keyId));
    }

    [Fact]
    public async Task StartingFreeGivesAWorkingKeyInTheFreePlanWithoutACardOrAnyStripeObject()
    {
        const string email = "free-start@example.com";
        using var browser = await portal.SignInAsync(email);
        var page = await browser.AccountPageAsync();
        var stripeCalls = portal.Stripe.Requests.Count(r => r.Method != "GET");

        using var started = await browser.PressAsync("/account/free");
        var keyId = await portal.KeyIdOf(email);
        var shown = await browser.KeyOnceMintedAsync();
        var after = await browser.AccountPageAsync();

        Assert.Contains("id=\"start-free\"", page, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.SeeOther, started.StatusCode);
        Assert.Equal("/account", started.Headers.Location?.OriginalString);
        Assert.Equal(keyId, shown?.Id);
        Assert.Equal((true, true, false), await WhereIsAsync(keyId));
        var record = (await portal.RecordAsync(email))!;
        Assert.True(record.FreePlan);
        Assert.Equal(portal.Environment.FreeUsagePlanId, record.UsagePlanId);
        Assert.Null(record.StripeCustomerId);
        Assert.Equal(stripeCalls, portal.Stripe.Requests.Count(r => r.Method != "GET"));
        Assert.DoesNotContain(portal.Stripe.Customers, c => c.Email == email);
        Assert.Equal("Free plan", AccountBrowser.StatusOn(after));
        Assert.DoesNotContain("id=\"start-free\"", after, StringComparison.Ordinal);
        Assert.DoesNotContain("id=\"cancel-subscription\"", after, StringComparison.Ordinal);

        // Pressed again (a second tab, a replayed form): one plan, one key.
        using var again = await browser.PostFormAsync("/account/free", page);
        Assert.Equal(HttpStatusCode.SeeOther, again.StatusCode);
        Assert.Single(await portal.KeysNamedFor(email));
        Assert.Equal(keyId, (await portal.RecordAsync(email))!.ApiKeyId);
    }

    [Fact]
    public async Task AFreeKeyServesItsMonthlyQuotaThenTheApiAnswers429AndThePageSaysWhy()
    {
        const string email = "free-quota@example.com";
        using var browser = await portal.SignInAsync(email);
        using (await browser.PressAsync("/account/free"))
        {
        }

        var (keyId, value) = (await browser.KeyOnceMintedAsync())!.Value;
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, Today, Monetization.Emulators.OfflineEnvironment.FreePlanMonthlyQuota - 1);
        using var caller = new HttpClient();
        async Task<HttpStatusCode> CallAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(portal.Environment.Usage.DemoApiEndpoint, $"/{Monetization.Emulators.OfflineEnvironment.ApiStage}/items"));
            request.Headers.Add("x-api-key", value);
            using var response = await caller.SendAsync(request, Ct);
            return response.StatusCode;
        }

        var last = await CallAsync();
        var over = await CallAsync();
        var page = await browser.AccountPageAsync();

        Assert.Equal(HttpStatusCode.OK, last);
        Assert.Equal(HttpStatusCode.TooManyRequests, over);
        Assert.Contains("You have used this month's free requests", page, StringComparison.Ordinal);
        Assert.Contains("id=\"subscribe\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheUsageReportMailsAFreeSubscriberOnceAt80AndOnceAt100PercentOfTheMonthsQuota()
    {
        const string email = "free-alerts@example.com";
        using var browser = await portal.SignInAsync(email);
        using (await browser.PressAsync("/account/free"))
        {
        }

        var keyId = await portal.KeyIdOf(email);
        var quota = portal.Environment.FreeMonthlyQuota;
        string[] Subjects() => [.. portal.Mail.To(email).Where(m => m.Subject.Contains("free requests", StringComparison.Ordinal)).Select(m => m.Subject)];

        // Other subscribers of this fixture may be mailed by the same runs: what counts is this one's inbox.
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, Today, (quota * 8 / 10) - 1);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        var below = Subjects();
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, Today, 1);
        var at80 = await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        var after80 = Subjects();
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, Today, quota / 5);
        var at100 = await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));

        Assert.Empty(below);
        Assert.True(at80.QuotaEmailsSent >= 1);
        Assert.Equal(["You have used 80% of this month's free requests"], after80);
        Assert.True(at100.QuotaEmailsSent >= 1);
        Assert.Equal(["You have used this month's free requests", "You have used 80% of this month's free requests"], Subjects());
        var full = portal.Mail.To(email)[0];
        Assert.Contains($"{quota:N0} of the {quota:N0} requests", full.TextBody, StringComparison.Ordinal);
        Assert.Contains(portal.Environment.AccountPageUrl.ToString(), full.TextBody, StringComparison.Ordinal);
        var record = (await portal.RecordAsync(email))!;
        Assert.Equal((DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), 100), (record.QuotaAlertMonth, record.QuotaAlertPercent));
    }

    [Fact]
    public async Task AQuotaMailSesDoesNotTakeIsSentByTheNextRunAndTheReportStillBills()
    {
        const string email = "free-alert-retry@example.com";
        using var browser = await portal.SignInAsync(email);
        using (await browser.PressAsync("/account/free"))
        {
        }

        var keyId = await portal.KeyIdOf(email);
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, Today, portal.Environment.FreeMonthlyQuota);
        var rule = new Monetization.Emulators.Faults.FaultRule { PathPrefix = "/v2/email", Status = 503 };
        portal.Environment.Ses.Faults.Add(rule);
        Monetization.Core.Usage.UsageReportSummary refused;
        try
        {
            refused = await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        }
        finally
        {
            portal.Environment.Ses.Faults.Clear();
        }

        var whileRefused = (await portal.RecordAsync(email))!;
        var mailedWhileRefused = portal.Mail.To(email).Count(m => m.Subject.Contains("free requests", StringComparison.Ordinal));
        var next = await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));

        Assert.Equal(0, refused.Failures);
        Assert.Equal(0, mailedWhileRefused);
        Assert.Null(whileRefused.QuotaAlertMonth);
        Assert.True(next.QuotaEmailsSent >= 1);
        Assert.Equal(["You have used this month's free requests"], portal.Mail.To(email).Where(m => m.Subject.Contains("free requests", StringComparison.Ordinal)).Select(m => m.Subject));
    }

    [Fact]
    public async Task ChoosingFreeOnThePricingPageStartsTheFreePlanAsSoonAsTheLinkIsUsed()
    {
        const string email = "free-chosen@example.com";
        var pricing = await portal.Http.GetStringAsync("/pricing", Ct);
        var signup = await portal.Http.GetStringAsync("/?plan=free", Ct);
        using var browser = portal.NewBrowser();
        using var requested = await browser.Http.PostAsJsonAsync("/register", new { email, firstname = "Free", lastname = "Chooser", plan = "free" }, Ct);
        var beforeConfirm = await portal.RecordAsync(email);

        using var confirmed = await browser.ConfirmAsync(portal.Mail.LinkFor(email));
        var record = (await portal.RecordAsync(email))!;
        var keyId = await portal.KeyIdOf(email);

        Assert.Contains("href=\"/?plan=free\"", pricing, StringComparison.Ordinal);
        Assert.Contains("<input type=\"hidden\" name=\"plan\" value=\"free\">", signup, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        Assert.Null(beforeConfirm);
        Assert.Equal(HttpStatusCode.SeeOther, confirmed.StatusCode);
        Assert.Equal("/account", confirmed.Headers.Location?.OriginalString);
        Assert.True(record.FreePlan);
        Assert.Equal((true, true, false), await WhereIsAsync(keyId));
        Assert.Equal(keyId, (await browser.KeyOnceMintedAsync())?.Id);
        Assert.DoesNotContain(portal.Stripe.Customers, c => c.Email == email);
    }

    [Fact]
    public async Task ChoosingToPayLeadsToTheAccountPageAndAPlanNobodyOffersIsRefusedByName()
    {
        const string email = "paid-chosen@example.com";
        using var browser = portal.NewBrowser();
        using var paid = await browser.Http.PostAsJsonAsync("/register", new { email, firstname = "Paid", lastname = "Chooser", plan = "paid" }, Ct);
        using var confirmed = await browser.ConfirmAsync(portal.Mail.LinkFor(email));
        var page = await browser.AccountPageAsync();
        using var gold = await browser.Http.PostAsJsonAsync("/register", new { email = "gold@example.com", firstname = "Gold", lastname = "Chooser", plan = "gold" }, Ct);
        var refused = await gold.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.Accepted, paid.StatusCode);
        Assert.Equal("/account", confirmed.Headers.Location?.OriginalString);
        Assert.Contains("id=\"subscribe\"", page, StringComparison.Ordinal);
        Assert.False((await portal.RecordAsync(email))!.Subscribed);
        Assert.DoesNotContain(portal.Stripe.Customers, c => c.Email == email);
        Assert.Equal(HttpStatusCode.BadRequest, gold.StatusCode);
        Assert.Contains("\"plan\"", refused, StringComparison.Ordinal);
        Assert.Empty(portal.Mail.To("gold@example.com"));
    }

    [Fact]
    public async Task PayingMovesTheSameKeyToThePaidPlanAndBillsOnlyWhatItServedThereOnce()
    {
        const string email = "free-upgrade@example.com";
        portal.DeliverWebhooks(false);
        using var browser = await portal.SignInAsync(email);
        using (await browser.PressAsync("/account/free"))
        {
        }

        var keyId = await portal.KeyIdOf(email);
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, Today, 7);

        using var subscribe = await browser.PressAsync("/account/subscribe");
        var session = portal.Stripe.CheckoutSessions.Single(s => s.Url == subscribe.Headers.Location!.ToString());
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: false, Ct);
        using (await portal.ReturnAsync(browser, paid))
        {
        }

        var moved = await WhereIsAsync(keyId);
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 5);
        var first = await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        var second = await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));

        Assert.Equal(HttpStatusCode.SeeOther, subscribe.StatusCode);
        Assert.Equal((true, false, true), moved);
        var record = (await portal.RecordAsync(email))!;
        Assert.False(record.FreePlan);
        Assert.Equal(keyId, record.ApiKeyId);
        Assert.Equal(portal.Environment.StripeUsagePlanId, record.UsagePlanId);
        Assert.Equal(paid.SubscriptionId, record.StripeSubscriptionId);
        Assert.Equal(0, first.Failures);
        Assert.Equal(0, second.Failures);
        var billed = portal.Stripe.MeterEvents.Where(e => e.CustomerId == record.StripeCustomerId).ToList();
        Assert.Equal(5, billed.Sum(e => e.Value));
        Assert.Equal(billed.Count, billed.Select(e => e.Identifier).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("Active", AccountBrowser.StatusOn(await browser.AccountPageAsync()));
    }

    [Fact]
    public async Task AFreeKeyRotatesWithinTheFreePlanAndTheRevokedOneStopsAndGoesWithNothingBilled()
    {
        const string email = "free-rotate@example.com";
        using var browser = await portal.SignInAsync(email);
        using (await browser.PressAsync("/account/free"))
        {
        }

        var oldKey = (await browser.KeyOnceMintedAsync())!.Value.Id;
        using var rotated = await browser.PressAsync("/account/keys/rotate");
        var (newKey, _) = AccountBrowser.KeyShownOn(await browser.AccountPageAsync()) ?? throw new InvalidOperationException("The new key is not shown.");
        var bothWork = (await WhereIsAsync(oldKey), await WhereIsAsync(newKey));
        using var revoked = await browser.PostFormAsync("/account/keys/revoke", await browser.AccountPageAsync(), ("keyId", oldKey));
        var stopped = await WhereIsAsync(oldKey);
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, oldKey, Today, 3);
        var first = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        var second = await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);

        Assert.Equal(HttpStatusCode.SeeOther, rotated.StatusCode);
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal(((true, true, false), (true, true, false)), bothWork);
        Assert.Equal(HttpStatusCode.SeeOther, revoked.StatusCode);
        Assert.Equal((false, true, false), stopped);
        Assert.Equal(0, first.Failures + second.Failures);
        Assert.DoesNotContain(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == oldKey);
        var record = (await portal.RecordAsync(email))!;
        Assert.Empty(record.RetiredKeys);
        Assert.Equal(newKey, record.ApiKeyId);
        Assert.Equal((true, true, false), await WhereIsAsync(newKey));
        Assert.Null(record.StripeCustomerId);
        Assert.DoesNotContain(portal.Stripe.Customers, c => c.Email == email);
    }

    [Fact]
    public async Task ASubscriberWhoPaidBeforeCannotStartFreeAndNobodySignedInCanStartAnything()
    {
        const string email = "free-after-paid@example.com";
        var (browser, keyId, _) = await portal.PaidAsync(email, webhooks: false);
        using var _ = browser;
        var page = await browser.AccountPageAsync();
        using (await browser.PressAsync("/account/cancel"))
        {
        }

        using var refused = await browser.PostFormAsync("/account/free", page);
        using var stranger = portal.NewBrowser();
        using var anonymous = await stranger.Http.PostAsync("/account/free", new FormUrlEncodedContent([]), Ct);

        Assert.Equal(HttpStatusCode.SeeOther, refused.StatusCode);
        Assert.Equal("/account?notice=free-after-paid", refused.Headers.Location?.OriginalString);
        var record = (await portal.RecordAsync(email))!;
        Assert.False(record.FreePlan);
        Assert.False(record.Subscribed);
        Assert.Equal((false, false, true), await WhereIsAsync(keyId));
        Assert.Equal(HttpStatusCode.SeeOther, anonymous.StatusCode);
        Assert.Equal("/account", anonymous.Headers.Location?.OriginalString);
    }
}
