using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Aws.Ledger;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Tests.Billing;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Accounts;

/// <summary>
/// The account-wide key ceiling: the key of a subscription that ended is deleted a retention after everything it served
/// was billed, paced and a bounded number a run, on the real Portal, moto and the Stripe emulator.
/// </summary>
public sealed class EndedKeyDeletionTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    [Fact]
    public async Task AnEndedKeyWithUnbilledUsageIsKeptAndOnceBilledItIsDeletedAfterTheRetentionAndAReturningSubscriberGetsANewKey()
    {
        const string email = "ended-key@example.com";
        var (browser, keyId, _) = await portal.PaidAsync(email, webhooks: true);
        using var _ = browser;
        var customerId = (await portal.RecordAsync(email))!.StripeCustomerId;
        portal.Environment.Usage.Count(portal.Environment.StripeUsagePlanId, keyId, Today, 4);
        using (await browser.PressAsync("/account/cancel"))
        {
        }

        // Stripe refuses the last usage while the subscription looks ended long ago: the key is kept, whatever its age.
        await portal.EditRecordAsync(email, r => r with { SettlingSince = DateTimeOffset.UtcNow.AddDays(-40) });
        portal.Stripe.Faults.Add(new FaultRule { Method = "POST", PathPrefix = "/v1/billing/meter_events", Status = 500, Count = 50 });
        try
        {
            Assert.True((await portal.ReportUsageAsync(TimeSpan.Zero, settings: NoRetention)).Failures > 0);
            Assert.True((await portal.ReportUsageAsync(TimeSpan.Zero, settings: NoRetention)).Failures > 0);
        }
        finally
        {
            portal.Stripe.Faults.Clear();
        }

        Assert.Equal((false, true), await portal.AccessAsync(keyId));
        Assert.Null((await portal.RecordAsync(email))!.KeyDeleteAt);

        // Stripe takes it; the next run settles the key (final invoice, out of the plan) and starts its retention.
        await portal.ReportUsageAsync(TimeSpan.Zero);
        var settled = await portal.ReportUsageAsync(TimeSpan.Zero);
        Assert.Equal(1, settled.Stripe.KeysSettled);
        Assert.Equal((false, false), await portal.AccessAsync(keyId));
        var record = (await portal.RecordAsync(email))!;
        Assert.Equal(keyId, record.ApiKeyId);
        Assert.InRange(record.KeyDeleteAt!.Value - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));
        Assert.Contains("api-key-deletion", await browser.AccountPageAsync(), StringComparison.Ordinal);
        Assert.Equal(0, (await portal.ReportUsageAsync(TimeSpan.Zero)).Stripe.EndedKeysDeleted);
        Assert.Contains(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == keyId);

        // The retention is over (as if 30 days had passed): the key is deleted, and the record forgets it.
        await portal.EditRecordAsync(email, r => r with { KeyDeleteAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        var deleted = await portal.ReportUsageAsync(TimeSpan.Zero);
        Assert.Equal(1, deleted.Stripe.EndedKeysDeleted);
        Assert.DoesNotContain(await portal.Environment.ApiKeysAsync(Ct), k => k.Id == keyId);
        record = (await portal.RecordAsync(email))!;
        Assert.Null(record.ApiKeyId);
        Assert.Null(record.ApiKeyHint);
        Assert.Null(record.KeyDeleteAt);
        Assert.Equal(4, portal.Stripe.MeterEvents.Where(e => e.CustomerId == customerId).Sum(e => e.Value));
        Assert.Equal(0, (await portal.ReportUsageAsync(TimeSpan.Zero)).Stripe.EndedKeysDeleted);
        var ended = await browser.AccountPageAsync();
        Assert.Equal("Ended", AccountBrowser.StatusOn(ended));
        Assert.DoesNotContain(keyId, ended, StringComparison.Ordinal);

        // Coming back mints a new key, shown once.
        using var pressed = await browser.PressAsync("/account/subscribe");
        var session = portal.Stripe.CheckoutSessions.Single(s => s.Url == pressed.Headers.Location?.ToString());
        var (paid, _, _) = await portal.Stripe.CompleteCheckoutAsync(session.Id, deliver: true, Ct);
        using (await portal.ReturnAsync(browser, paid))
        {
        }

        var (newKey, value) = await browser.KeyOnceMintedAsync() ?? throw new InvalidOperationException("no new key shown");
        Assert.NotEqual(keyId, newKey);
        Assert.Equal(value, (await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == newKey).Value);
        Assert.Equal((true, true), await portal.AccessAsync(newKey));
        Assert.Single(portal.Stripe.Customers, c => c.Email == email);
    }

    [Fact]
    public async Task ARunDeletesAtMostItsShareOfEndedKeysAndLeavesTheRestAndEveryKeyStillInUseToLaterRuns()
    {
        var access = portal.Services.GetRequiredService<ApiKeyAccess>();
        var due = DateTimeOffset.UtcNow.AddMinutes(-5);
        var expired = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            expired.Add(await EndedSubscriberAsync(access, $"ended-batch-{i}", r => r with { KeyDeleteAt = due }));
        }

        // Not due: its retention runs on; and one whose subscriber came back (a grant clears the stamp, but were it left).
        var retained = await EndedSubscriberAsync(access, "ended-retained", r => r with { KeyDeleteAt = DateTimeOffset.UtcNow.AddDays(1) });
        var back = await EndedSubscriberAsync(access, "ended-back", r => r with { KeyDeleteAt = due, Subscribed = true, Status = SubscriberStatus.Active });

        var first = await portal.ReportUsageAsync(TimeSpan.Zero, settings: TwoPerRun);
        var afterFirst = (await portal.Environment.ApiKeysAsync(Ct)).Select(k => k.Id).ToHashSet();
        var second = await portal.ReportUsageAsync(TimeSpan.Zero, settings: TwoPerRun);
        var afterSecond = (await portal.Environment.ApiKeysAsync(Ct)).Select(k => k.Id).ToHashSet();

        Assert.Equal(2, first.Stripe.EndedKeysDeleted);
        Assert.Equal(1, expired.Count(afterFirst.Contains));
        Assert.Equal(1, second.Stripe.EndedKeysDeleted);
        Assert.DoesNotContain(expired, afterSecond.Contains);
        Assert.Contains(retained, afterSecond);
        Assert.Contains(back, afterSecond);
        Assert.Equal(0, first.Failures + second.Failures);
        Assert.Equal(afterFirst.Count, first.ApiKeysInAccount);
        Assert.Equal(afterSecond.Count, second.ApiKeysInAccount);
    }

    private static Dictionary<string, string?> NoRetention => new() { ["Usage:EndedKeyRetention"] = TimeSpan.Zero.ToString("c", CultureInfo.InvariantCulture) };

    private static Dictionary<string, string?> TwoPerRun => new() { ["Usage:EndedKeysPerRun"] = "2" };

    /// <summary>A subscriber whose subscription ended and whose key settled (disabled, out of its plan), edited as given.</summary>
    private async Task<string> EndedSubscriberAsync(ApiKeyAccess access, string name, Func<Subscriber, Subscriber> edit)
    {
        var email = $"{name}@example.com";
        var subscriberId = CheckoutPortalFixture.SubscriberIdOf(email);
        var key = await access.CreateAsync(new KeyHolder(subscriberId, Channel.Stripe, $"stripe-{name}", null), Ct);
        var now = DateTimeOffset.UtcNow;
        var record = new Subscriber
        {
            Id = subscriberId,
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Cancelled,
            ApiKeyId = key.Id,
            UsagePlanId = portal.Environment.StripeUsagePlanId,
            Registered = true,
            CreatedAt = now,
            UpdatedAt = now,
        };
        using var dynamoDb = portal.Environment.DynamoDb();
        Assert.True(await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).TryCreateAsync(edit(record), Ct));
        return key.Id;
    }
}
