using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Tests.Billing;
using Monetization.Tests.Infrastructure;
using Monetization.UsageReporter;

namespace Monetization.Tests.Usage;

/// <summary>
/// The daily reconciliation on the real peers: a closed day of random traffic, reported hour by hour through a Stripe
/// outage, agrees to the unit; a unit billed twice and a unit never billed are found, per subscriber, as drift.
/// </summary>
public sealed class ReconciliationTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AClosedDayOfRandomTrafficAgreesAndAUnitBilledTwiceAndAUnitNeverBilledAreDrift()
    {
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2);
        var plan = portal.Environment.StripeUsagePlanId;
        var (first, firstKey, _) = await portal.PaidAsync("reconcile-a@example.com", webhooks: true);
        var (second, secondKey, _) = await portal.PaidAsync("reconcile-b@example.com", webhooks: true);
        using var _ = first;
        using var __ = second;
        var served = new Dictionary<string, long> { [firstKey] = 0, [secondKey] = 0 };

        // The day, hour by hour as the reports saw it: random traffic, and Stripe down for one report.
        var clock = new ManualTimeProvider(new DateTimeOffset(day.ToDateTime(new TimeOnly(9, 0)), TimeSpan.Zero));
        var random = new Random(20261203);
        for (var hour = 0; hour < 6; hour++)
        {
            foreach (var key in served.Keys.ToList())
            {
                var requests = random.Next(0, 30);
                portal.Environment.Usage.Count(plan, key, day, requests);
                served[key] += requests;
            }

            if (hour == 2)
            {
                portal.Stripe.Faults.Add(new FaultRule { Method = "POST", PathPrefix = "/v1/billing/meter_events", Status = 500, Count = 50 });
            }

            try
            {
                await portal.ReportUsageAsync(TimeSpan.FromHours(1), clock);
            }
            finally
            {
                portal.Stripe.Faults.Clear();
            }

            clock.Advance(TimeSpan.FromHours(1));
        }

        var agreed = await UsageReports.ReconcileAsync(portal.Environment, day);

        Assert.Equal(0, agreed.Drift);
        foreach (var (key, units) in served)
        {
            var row = Assert.Single(agreed.Rows, r => r.KeyIds.Contains(key));
            Assert.Equal((units, units, units, 0L, "agrees"), (row.Counted, row.Recorded, row.Billed, row.Drift, row.Finding));
        }

        // A unit billed twice (an event sent beside the reports) and two units counted after the day closed.
        var customer = (await portal.RecordAsync("reconcile-a@example.com"))!.StripeCustomerId!;
        using (var http = new HttpClient())
        {
            await portal.Environment.StripeClient(http).V1.Billing.MeterEvents.CreateAsync(
                new global::Stripe.Billing.MeterEventCreateOptions
                {
                    EventName = OfflineEnvironment.MeterEventName,
                    Identifier = "billed-twice",
                    Payload = new Dictionary<string, string> { ["stripe_customer_id"] = customer, ["value"] = "1" },
                    Timestamp = day.ToDateTime(new TimeOnly(20, 0), DateTimeKind.Utc),
                },
                null,
                Ct);
        }

        portal.Environment.Usage.Count(plan, secondKey, day, 2);
        var drifted = await UsageReports.ReconcileAsync(portal.Environment, day);

        Assert.Equal(3, drifted.Drift);
        var twice = Assert.Single(drifted.Rows, r => r.KeyIds.Contains(firstKey));
        Assert.Equal((1L, "1 billed above what was recorded"), (twice.Drift, twice.Finding));
        var never = Assert.Single(drifted.Rows, r => r.KeyIds.Contains(secondKey));
        Assert.Equal((2L, "2 counted but never billed"), (never.Drift, never.Finding));
        Assert.Contains("drift 3", ReconciliationOutput.Table(drifted), StringComparison.Ordinal);
        Assert.Contains("\"drift\":3", ReconciliationOutput.SummaryLine(drifted), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnlyAClosedDayIsReconciled()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => UsageReports.ReconcileAsync(portal.Environment, today.AddDays(-1)));
    }

    [Theory]
    [InlineData("""{"reconcile":true}""", "2026-12-01")]
    [InlineData("""{"reconcile":"2026-11-20"}""", "2026-11-20")]
    [InlineData("""{"version":"0","detail-type":"Scheduled Event"}""", null)]
    [InlineData("not json", null)]
    public void TheInvocationSaysWhichDayToReconcile(string payload, string? expected)
    {
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(payload));

        var day = ReconciliationOutput.RequestedDay(stream, new DateOnly(2026, 12, 1));

        Assert.Equal(expected is null ? null : DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), day);
    }
}
