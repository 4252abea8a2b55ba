using System.Net;
using Microsoft.Extensions.Time.Testing;
using Monetization.Core.Ledger;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Billing;

/// <summary>
/// Unused free keys, on the real Portal, moto and the Stripe emulator, with the usage report run as the function runs
/// it at later moments: a free key that has served nothing for 90 days gets its holder one e-mail, and, still unused 14
/// days later, its free plan ends and the key is deleted by the paced deletions; a key that serves something is left
/// alone. Every report here runs later than the last, as the hourly schedule would.
/// </summary>
public sealed class IdleFreeKeyTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private const string NoticeSubject = "Your unused free API key is to be deleted";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TimeSpan Settle = TimeSpan.FromHours(1);

    private async Task<(AccountBrowser Browser, string KeyId)> FreeAsync(string email)
    {
        var browser = await portal.SignInAsync(email);
        using (await browser.PressAsync("/account/free"))
        {
        }

        return (browser, await portal.KeyIdOf(email));
    }

    private Task<Monetization.Core.Usage.UsageReportSummary> ReportAtAsync(DateTimeOffset at) => portal.ReportUsageAsync(Settle, new FakeTimeProvider(at));

    private int Notices(string email) => portal.Mail.To(email).Count(m => m.Subject == NoticeSubject);

    [Fact]
    public async Task AFreeKeyUnusedFor90DaysIsNoticedOnceThenItsPlanEndsAndTheKeyIsDeletedAndTheHolderMayStartAgain()
    {
        const string email = "idle-free@example.com";
        var (browser, keyId) = await FreeAsync(email);
        using var _ = browser;
        var started = (await portal.RecordAsync(email))!.FreeSince!.Value;

        var early = await ReportAtAsync(started.AddDays(89));
        var noticesEarly = Notices(email);
        var noticedRun = await ReportAtAsync(started.AddDays(90).AddHours(1));
        var noticed = (await portal.RecordAsync(email))!;
        var noticesThen = Notices(email);
        var again = await ReportAtAsync(started.AddDays(95));
        var endRun = await ReportAtAsync(started.AddDays(104).AddHours(2));
        var ended = (await portal.RecordAsync(email))!;
        var keyAfterEnd = (await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == keyId);
        await ReportAtAsync(started.AddDays(104).AddHours(4));
        await ReportAtAsync(started.AddDays(104).AddHours(6));
        var gone = (await portal.RecordAsync(email))!;
        var page = await browser.AccountPageAsync();

        Assert.Equal((0, 1), (noticesEarly, noticesThen));
        Assert.Equal(0, early.Failures);
        Assert.True(noticedRun.UnusedFreeKeysNoticed >= 1);
        Assert.NotNull(noticed.IdleNoticeAt);
        Assert.True(noticed.FreePlan);
        var mail = portal.Mail.To(email).Single(m => m.Subject == NoticeSubject);
        Assert.Contains("90 days", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(portal.Environment.AccountPageUrl.ToString(), mail.TextBody, StringComparison.Ordinal);
        Assert.Equal(0, again.UnusedFreeKeysEnded);
        Assert.True(endRun.UnusedFreeKeysEnded >= 1);
        Assert.Equal((false, false, SubscriberStatus.Cancelled), (ended.FreePlan, ended.Subscribed, ended.Status));
        Assert.False(keyAfterEnd.Enabled);
        Assert.Equal(1, Notices(email));
        Assert.Null(gone.ApiKeyId);
        Assert.DoesNotContain(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == keyId);
        Assert.Contains("id=\"start-free\"", page, StringComparison.Ordinal);

        using var restarted = await browser.PressAsync("/account/free");
        var newKey = await portal.KeyIdOf(email);
        Assert.Equal(HttpStatusCode.SeeOther, restarted.StatusCode);
        Assert.NotEqual(keyId, newKey);
        Assert.True((await portal.RecordAsync(email))!.FreePlan);
    }

    [Fact]
    public async Task AFreeKeyThatServesSomethingIsNotCalledUnusedAndANoticeIsWithdrawnWhenItServesAgain()
    {
        const string email = "busy-free@example.com";
        var (browser, keyId) = await FreeAsync(email);
        using var _ = browser;
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, today, 3);
        await portal.ReportUsageAsync(Settle);
        var used = (await portal.RecordAsync(email))!;
        var monthStart = new DateTimeOffset(today.Year, today.Month, 1, 0, 0, 0, TimeSpan.Zero);

        // Unused since the next month began: noticed 90 days after that, not before.
        await ReportAtAsync(monthStart.AddMonths(1).AddDays(89));
        var noticesEarly = Notices(email);
        var earlyRecord = (await portal.RecordAsync(email))!;
        var noticed = await ReportAtAsync(monthStart.AddMonths(1).AddDays(90).AddHours(1));
        var noticedRecord = (await portal.RecordAsync(email))!;

        Assert.Equal(today.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), used.FreeUsedMonth);
        Assert.Equal(monthStart.AddMonths(1).AddDays(90), used.IdleCheckAt);
        Assert.Equal(0, noticesEarly);
        Assert.Null(earlyRecord.IdleNoticeAt);
        Assert.True(noticed.UnusedFreeKeysNoticed >= 1);
        Assert.Equal(1, Notices(email));
        Assert.NotNull(noticedRecord.IdleNoticeAt);

        // Used again during the notice (in a later month, as the report sees it): the notice is withdrawn.
        var later = DateOnly.FromDateTime(noticedRecord.IdleNoticeAt!.Value.UtcDateTime.AddDays(1));
        portal.Environment.Usage.Count(portal.Environment.FreeUsagePlanId, keyId, later, 1);
        var withdrawn = await ReportAtAsync(new DateTimeOffset(later.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero));
        var kept = (await portal.RecordAsync(email))!;
        await ReportAtAsync(noticedRecord.IdleNoticeAt!.Value.AddDays(15));

        Assert.Equal(0, withdrawn.Failures);
        Assert.Null(kept.IdleNoticeAt);
        Assert.Equal(later.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture), kept.FreeUsedMonth);
        var after = (await portal.RecordAsync(email))!;
        Assert.True(after.FreePlan);
        Assert.True((await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == keyId).Enabled);
    }

    [Fact]
    public async Task ANoticeSesDoesNotTakeIsSentByTheNextRunAndTheKeyIsNotEndedMeanwhile()
    {
        const string email = "idle-free-retry@example.com";
        var (browser, keyId) = await FreeAsync(email);
        using var _ = browser;
        var started = (await portal.RecordAsync(email))!.FreeSince!.Value;
        portal.Environment.Ses.Faults.Add(new Monetization.Emulators.Faults.FaultRule { PathPrefix = "/v2/email", Status = 503 });
        Monetization.Core.Usage.UsageReportSummary refused;
        try
        {
            refused = await ReportAtAsync(started.AddDays(91));
        }
        finally
        {
            portal.Environment.Ses.Faults.Clear();
        }

        var whileRefused = (await portal.RecordAsync(email))!;
        var sent = await ReportAtAsync(started.AddDays(91).AddHours(1));
        var sentRecord = (await portal.RecordAsync(email))!;

        Assert.Equal(0, refused.Failures);
        Assert.Null(whileRefused.IdleNoticeAt);
        Assert.True(whileRefused.FreePlan);
        Assert.True(sent.UnusedFreeKeysNoticed >= 1);
        Assert.Equal(1, Notices(email));
        Assert.True(sentRecord.IdleNoticeAt >= started.AddDays(91).AddHours(1));
        Assert.True((await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == keyId).Enabled);
    }
}
