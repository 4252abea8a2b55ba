using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Core.Accounts;
using Monetization.Core.Ledger;
using Monetization.Emulators.Faults;
using Monetization.Tests.Billing;
using Monetization.Aws.Ledger;
using Monetization.Emulators;

namespace Monetization.Tests.Accounts;

/// <summary>
/// Rotating and revoking a key from the account page, on the real Portal, moto and the Stripe emulator, with the usage
/// reporter billing what each key served: a lost key is replaced, a leaked one stops at once, and no unit is lost.
/// </summary>
public sealed class KeyRotationTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    [Fact]
    public async Task RotatingShowsANewWorkingKeyOnceTheOldOneWorksBesideItAndRevokeNowStopsItWhileEveryUnitBillsToTheCustomer()
    {
        const string email = "rotate-revoke@example.com";
        var (browser, oldKey) = await PaidAsync(email);
        using var _ = browser;

        using var rotated = await browser.PressAsync("/account/keys/rotate");
        Assert.Equal(HttpStatusCode.SeeOther, rotated.StatusCode);
        Assert.Equal("/account", rotated.Headers.Location?.ToString());
        var page = await browser.AccountPageAsync();
        var (newKey, value) = AccountBrowser.KeyShownOn(page) ?? throw new InvalidOperationException("The new key is not shown: " + page);
        Assert.NotEqual(oldKey, newKey);
        Assert.Equal(value, (await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == newKey).Value);
        Assert.Null(await browser.KeyOnceMintedAsync());

        // Both work: the old one until the overlap ends (24 hours by default).
        Assert.Equal((true, true), await portal.AccessAsync(oldKey));
        Assert.Equal((true, true), await portal.AccessAsync(newKey));
        var record = (await portal.RecordAsync(email))!;
        Assert.Equal(newKey, record.ApiKeyId);
        var retired = Assert.Single(record.RetiredKeys);
        Assert.Equal(oldKey, retired.Id);
        Assert.InRange(retired.RevokeAt - DateTimeOffset.UtcNow, TimeSpan.FromHours(23), TimeSpan.FromHours(24));
        Assert.Contains("works until", await browser.AccountPageAsync(), StringComparison.Ordinal);

        // Both bill to the one customer.
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, oldKey, Today, 5);
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, newKey, Today, 7);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.FromHours(1));
        Assert.Equal(12, portal.Stripe.MeterEvents.Where(e => e.CustomerId == record.StripeCustomerId).Sum(e => e.Value));

        // Revoke now: the old key stops at once; what it served before it stopped is still billed, then it is deleted.
        using var revoked = await browser.PostFormAsync("/account/keys/revoke", await browser.AccountPageAsync(), ("keyId", oldKey));
        Assert.Equal(HttpStatusCode.SeeOther, revoked.StatusCode);
        Assert.Equal((false, true), await portal.AccessAsync(oldKey));
        Assert.Equal((true, true), await portal.AccessAsync(newKey));
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, oldKey, Today, 2);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);

        Assert.Equal(14, portal.Stripe.MeterEvents.Where(e => e.CustomerId == record.StripeCustomerId).Sum(e => e.Value));
        Assert.DoesNotContain(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == oldKey);
        Assert.Empty((await portal.RecordAsync(email))!.RetiredKeys);
        Assert.Equal((true, true), await portal.AccessAsync(newKey));
    }

    [Fact]
    public async Task TheOldKeyStopsAtTheFirstReportAfterTheOverlapAndIsDeletedOnlyOnceStripeHasTakenItsLastUsage()
    {
        const string email = "rotate-overlap@example.com";
        var (browser, oldKey) = await PaidAsync(email);
        using var _ = browser;
        using (await browser.PressAsync("/account/keys/rotate"))
        {
        }

        var customerId = (await portal.RecordAsync(email))!.StripeCustomerId;
        await portal.ReportUsageAsync(TimeSpan.Zero);
        Assert.Equal((true, true), await portal.AccessAsync(oldKey));

        // The overlap ends (as if a day had passed): the next report stops the old key.
        await OverlapEndsAsync(email);
        await portal.ReportUsageAsync(TimeSpan.Zero);
        Assert.Equal((false, true), await portal.AccessAsync(oldKey));
        Assert.NotNull(Assert.Single((await portal.RecordAsync(email))!.RetiredKeys).DisabledAt);

        // Usage it served before it stopped shows up late, and Stripe refuses it: the key stays until it is billed.
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, oldKey, Today, 3);
        portal.Stripe.Faults.Add(new FaultRule { Method = "POST", PathPrefix = "/v1/billing/meter_events", Status = 500, Count = 50 });
        try
        {
            Assert.True((await portal.ReportUsageAsync(TimeSpan.Zero)).Failures > 0);
        }
        finally
        {
            portal.Stripe.Faults.Clear();
        }

        Assert.Contains(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == oldKey);
        await portal.ReportUsageAsync(TimeSpan.Zero);
        Assert.Contains(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == oldKey);
        Assert.Equal(3, portal.Stripe.MeterEvents.Where(e => e.CustomerId == customerId).Sum(e => e.Value));

        await portal.ReportUsageAsync(TimeSpan.Zero);
        Assert.DoesNotContain(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == oldKey);
        Assert.Equal(3, portal.Stripe.MeterEvents.Where(e => e.CustomerId == customerId).Sum(e => e.Value));
    }

    /// <summary>Moves the subscriber's retired keys' revocation to a minute ago, as the overlap's end would.</summary>
    private Task OverlapEndsAsync(string email)
    {
        var ended = DateTimeOffset.UtcNow.AddMinutes(-1);
        return portal.EditRecordAsync(email, current => current with { RetiredKeys = [.. current.RetiredKeys.Select(k => k with { RevokeAt = ended })] });
    }

    [Fact]
    public async Task AtMostTwoKeysRetireAtOnceAndEndingTheSubscriptionStopsThemAll()
    {
        const string email = "rotate-bounded@example.com";
        var (browser, first) = await PaidAsync(email);
        using var _ = browser;
        using (await browser.PressAsync("/account/keys/rotate"))
        {
        }

        var second = await portal.KeyIdOf(email);
        using (await browser.PressAsync("/account/keys/rotate"))
        {
        }

        var third = await portal.KeyIdOf(email);
        using var refused = await browser.PressAsync("/account/keys/rotate");
        Assert.Equal("/account?notice=too-many-retiring", refused.Headers.Location?.ToString());
        Assert.Contains("account-notice", await (await browser.Http.GetAsync(refused.Headers.Location, Ct)).Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(third, await portal.KeyIdOf(email));
        Assert.Equal(3, (await portal.KeysNamedFor(email)).Count);
        foreach (var key in new[] { first, second, third })
        {
            Assert.Equal((true, true), await portal.AccessAsync(key));
        }

        using (await browser.PressAsync("/account/cancel"))
        {
        }

        foreach (var key in new[] { first, second, third })
        {
            Assert.Equal((false, true), await portal.AccessAsync(key));
        }

        Assert.Equal(RotateOutcome.NoWorkingKey, await portal.Services.GetRequiredService<ManageKeys>().RotateAsync(CheckoutPortalFixture.SubscriberIdOf(email), Ct));
    }

    [Fact]
    public async Task TwoRotationsRacingLeaveOneNewKeyAndNoStray()
    {
        const string email = "rotate-race@example.com";
        var (browser, oldKey) = await PaidAsync(email);
        using var _ = browser;
        var flow = portal.Services.GetRequiredService<ManageKeys>();
        var subscriberId = CheckoutPortalFixture.SubscriberIdOf(email);

        var outcomes = await Task.WhenAll(flow.RotateAsync(subscriberId, Ct), flow.RotateAsync(subscriberId, Ct));

        Assert.All(outcomes, o => Assert.Equal(RotateOutcome.Rotated, o));
        var record = (await portal.RecordAsync(email))!;
        Assert.Equal(oldKey, Assert.Single(record.RetiredKeys).Id);
        Assert.Equal(
            new[] { oldKey, record.ApiKeyId! }.Order(StringComparer.Ordinal),
            (await portal.KeysNamedFor(email)).Order(StringComparer.Ordinal));
        Assert.Equal((true, true), await portal.AccessAsync(record.ApiKeyId!));
    }

    [Fact]
    public async Task NobodyButTheSignedInOwnerRevokesAKeyAndANameThatIsNotTheirsChangesNothing()
    {
        const string owner = "rotate-owner@example.com";
        var (ownerBrowser, ownerKey) = await PaidAsync(owner);
        using var _ = ownerBrowser;
        using (await ownerBrowser.PressAsync("/account/keys/rotate"))
        {
        }

        using var other = await portal.SignInAsync("rotate-other@example.com");
        using var foreign = await other.PostFormAsync("/account/keys/revoke", await other.AccountPageAsync(), ("keyId", ownerKey));
        using var signedOut = portal.NewBrowser();
        using var anonymous = await signedOut.Http.PostAsync("/account/keys/revoke", new FormUrlEncodedContent([new("keyId", ownerKey)]), Ct);

        Assert.Equal(HttpStatusCode.SeeOther, foreign.StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, anonymous.StatusCode);
        Assert.Equal((true, true), await portal.AccessAsync(ownerKey));
        Assert.Null(Assert.Single((await portal.RecordAsync(owner))!.RetiredKeys).DisabledAt);
    }

    private async Task<(AccountBrowser Browser, string KeyId)> PaidAsync(string email)
    {
        var (browser, keyId, _) = await portal.PaidAsync(email, webhooks: true);
        Assert.NotNull(await browser.KeyOnceMintedAsync());
        return (browser, keyId);
    }
}
