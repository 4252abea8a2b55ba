using Monetization.Core.Billing;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Monetization.Stripe.Operations;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Stripe;

public sealed class StripeMeteringTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<StripeTestBed> StartAtNoonAsync() =>
        StripeTestBed.StartAsync(emulatorOptions: new StripeEmulatorOptions { TimeProvider = new ManualTimeProvider(Noon) }, cancellationToken: Ct);

    private static async Task<string> CustomerAsync(StripeTestBed bed, string email) =>
        (await bed.Client.CreateCustomerAsync(new CreateCustomer(email, null, null), $"customer:{email}", Ct)).Id;

    [Fact]
    public async Task ReportingUsagePostsAMeterEventForTheCustomer()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "u@example.com");

        await bed.Billing.ReportUsageAsync(new MeterUsage(customerId, 42, Noon.AddMinutes(-5), "key1:2026-03-10T11"), Ct);

        var meterEvent = Assert.Single(bed.Emulator.MeterEvents);
        Assert.Equal(StripeTestBed.MeterEventName, meterEvent.EventName);
        Assert.Equal(customerId, meterEvent.CustomerId);
        Assert.Equal(42, meterEvent.Value);
        Assert.Equal(Noon.AddMinutes(-5).ToUnixTimeSeconds(), meterEvent.Timestamp);
        Assert.Equal("key1:2026-03-10T11", meterEvent.Identifier);
    }

    [Fact]
    public async Task ReusedIdentifierIsRefusedAsADuplicateMeterEvent()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "d@example.com");
        var report = new CreateMeterEvent(StripeTestBed.MeterEventName, customerId, 5, Noon, "key1:hour-11");
        await bed.Client.CreateMeterEventAsync(report, "first-run", Ct);

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Client.CreateMeterEventAsync(report with { Value = 6 }, "second-run", Ct));

        Assert.True(error.IsDuplicateMeterEvent);
        Assert.Equal(1, bed.RequestsWithKey("second-run"));
        Assert.Equal(5, Assert.Single(bed.Emulator.MeterEvents).Value);
    }

    [Fact]
    public async Task ReportingUsageAgainWithTheSameIdentifierCountsItOnce()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "o@example.com");
        var usage = new MeterUsage(customerId, 7, Noon, "key1:hour-11");
        await bed.Client.CreateMeterEventAsync(new CreateMeterEvent(StripeTestBed.MeterEventName, customerId, 7, Noon, usage.Identifier), "earlier-process", Ct);

        await bed.Billing.ReportUsageAsync(usage, Ct);
        await bed.Billing.ReportUsageAsync(usage, Ct);

        Assert.Single(bed.Emulator.MeterEvents);
    }

    [Fact]
    public async Task MeterEventOlderThan35DaysIsRefused()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "old@example.com");

        var error = await Assert.ThrowsAsync<StripeException>(
            () => bed.Billing.ReportUsageAsync(new MeterUsage(customerId, 1, Noon.AddDays(-36), "old"), Ct));

        Assert.Equal("timestamp", error.Param);
        Assert.Empty(bed.Emulator.MeterEvents);
    }

    [Fact]
    public async Task MeterEventMoreThanFiveMinutesAheadIsRefused()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "ahead@example.com");

        var error = await Assert.ThrowsAsync<StripeException>(
            () => bed.Billing.ReportUsageAsync(new MeterUsage(customerId, 1, Noon.AddMinutes(6), "ahead"), Ct));

        Assert.Equal("timestamp", error.Param);
    }

    [Fact]
    public async Task MeterEventForAnUnknownCustomerIsRefused()
    {
        await using var bed = await StartAtNoonAsync();

        var error = await Assert.ThrowsAsync<StripeException>(
            () => bed.Billing.ReportUsageAsync(new MeterUsage("cus_missing", 1, Noon, "ghost"), Ct));

        Assert.True(error.IsResourceMissing);
        Assert.Equal("payload[stripe_customer_id]", error.Param);
    }

    [Fact]
    public async Task EventSummarySumsOnlyThatCustomersUsageInsideTheWindow()
    {
        await using var bed = await StartAtNoonAsync();
        var ada = await CustomerAsync(bed, "ada@example.com");
        var bob = await CustomerAsync(bed, "bob@example.com");
        await bed.Billing.ReportUsageAsync(new MeterUsage(ada, 10, Noon.AddHours(-2), "ada-1"), Ct);
        await bed.Billing.ReportUsageAsync(new MeterUsage(ada, 32, Noon.AddMinutes(-30), "ada-2"), Ct);
        await bed.Billing.ReportUsageAsync(new MeterUsage(ada, 1000, Noon.AddHours(-5), "ada-outside"), Ct);
        await bed.Billing.ReportUsageAsync(new MeterUsage(bob, 500, Noon.AddMinutes(-30), "bob-1"), Ct);

        var summaries = await bed.Client.ListMeterEventSummariesAsync(new ListMeterEventSummaries(bed.MeterId, ada, Noon.AddHours(-3), Noon), Ct);

        var summary = Assert.Single(summaries.Data);
        Assert.Equal(42, summary.AggregatedValue);
        Assert.Equal(bed.MeterId, summary.Meter);
        Assert.Equal(Noon.AddHours(-3).ToUnixTimeSeconds(), summary.StartTime);
        Assert.Equal(Noon.ToUnixTimeSeconds(), summary.EndTime);
    }
}
