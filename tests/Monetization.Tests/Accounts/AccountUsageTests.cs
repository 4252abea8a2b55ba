using System.Globalization;
using System.Text.RegularExpressions;
using Monetization.Emulators.Faults;
using Monetization.Tests.Billing;

namespace Monetization.Tests.Accounts;

/// <summary>
/// The account page's usage: the days as the usage reporter billed them plus today's live count, every key the
/// subscriber holds added up, and one GetUsage call a view however many keys they hold.
/// </summary>
public sealed partial class AccountUsageTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    [Fact]
    public async Task TheMonthIsWhatTheReporterBilledPlusTodaysLiveCountOverTheCurrentAndTheRetiredKeys()
    {
        const string email = "account-usage@example.com";
        var (browser, oldKey, _) = await portal.PaidAsync(email, webhooks: true);
        using var _ = browser;
        var plan = portal.Environment.StripeUsagePlanId;
        var yesterday = Today.AddDays(-1);
        var sameMonth = yesterday.Month == Today.Month;
        portal.Environment.Usage.Count(plan, oldKey, Today, 5);
        if (sameMonth)
        {
            portal.Environment.Usage.Count(plan, oldKey, yesterday, 2);
        }

        // Before any report: today's live count only (yesterday is not billed yet).
        Assert.Equal(5, MonthOn(await browser.AccountPageAsync()));

        await portal.ReportUsageAsync(TimeSpan.FromHours(1));
        var afterReport = await browser.AccountPageAsync();
        Assert.Equal(sameMonth ? 7 : 5, MonthOn(afterReport));
        if (sameMonth)
        {
            Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"<tr><td>{yesterday:yyyy-MM-dd}</td><td>2</td></tr>"), afterReport, StringComparison.Ordinal);
        }

        // A rotation: both keys' billed use and live counts add up, one GetUsage call per key and view.
        using (await browser.PressAsync("/account/keys/rotate"))
        {
        }

        await browser.AccountPageAsync();
        var newKey = await portal.KeyIdOf(email);
        portal.Environment.Usage.Count(plan, newKey, Today, 4);
        portal.Environment.Usage.Count(plan, oldKey, Today, 1);
        var usageReads = UsageReads();
        var rotated = await browser.AccountPageAsync();
        Assert.Equal(2, UsageReads() - usageReads);
        Assert.Equal((sameMonth ? 7 : 5) + 4 + 1, MonthOn(rotated));
        Assert.Contains("usage-remaining", rotated, StringComparison.Ordinal);

        // The old key is revoked, billed and deleted: what it served this month stays in the month.
        using (await browser.PostFormAsync("/account/keys/revoke", await browser.AccountPageAsync(), ("keyId", oldKey)))
        {
        }

        await portal.ReportUsageAsync(TimeSpan.Zero);
        await portal.ReportUsageAsync(TimeSpan.Zero);
        var record = (await portal.RecordAsync(email))!;
        Assert.Empty(record.RetiredKeys);
        Assert.Equal(oldKey, Assert.Single(record.DeletedKeys).Id);
        Assert.DoesNotContain(await portal.Environment.ApiKeysAsync(TestContext.Current.CancellationToken), k => k.Id == oldKey);
        Assert.Equal((sameMonth ? 7 : 5) + 4 + 1, MonthOn(await browser.AccountPageAsync()));

        // API Gateway does not answer: the page shows what was billed and says today's count is missing.
        portal.Environment.ApiGateway.Faults.Add(new FaultRule { Method = "GET", PathPrefix = $"/usageplans/{plan}/usage", Kind = FaultKind.Status, Status = 500, Count = 20 });
        try
        {
            var degraded = await browser.AccountPageAsync();
            Assert.Equal((sameMonth ? 7 : 5) + 4 + 1, MonthOn(degraded));
            Assert.Contains("usage-live-unavailable", degraded, StringComparison.Ordinal);
        }
        finally
        {
            portal.Environment.ApiGateway.Faults.Clear();
        }
    }

    private int UsageReads() => portal.Environment.Usage.GetUsageRequests;

    private static long MonthOn(string html) =>
        long.Parse(Month().Match(html).Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture);

    [GeneratedRegex("<strong id=\"usage-month\">([0-9,]+)</strong>")]
    private static partial Regex Month();
}
