using Monetization.Core.Billing;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Monetization.Tests.Infrastructure;
using Stripe;
using BillingV1 = Stripe.Billing;

namespace Monetization.Tests.Stripe;

public sealed class StripeMeteringTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<StripeTestBed> StartAtNoonAsync() =>
        StripeTestBed.StartAsync(emulatorOptions: new StripeEmulatorOptions { TimeProvider = new ManualTimeProvider(Noon) }, cancellationToken: Ct);

    private static async Task<string> CustomerAsync(StripeTestBed bed, string email) =>
        (await bed.Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Email = email }, StripeTestBed.Key($"customer:{email}"), Ct)).Id;

    private static Task ReportAsync(StripeTestBed bed, MeterUsage usage) => bed.Meter.ReportAsync([usage], Ct);

    private static BillingV1.MeterEventCreateOptions MeterEvent(string customerId, long value, DateTimeOffset at, string identifier) => new()
    {
        EventName = StripeTestBed.MeterEventName,
        Identifier = identifier,
        Payload = new() { ["stripe_customer_id"] = customerId, ["value"] = value.ToString(System.Globalization.CultureInfo.InvariantCulture) },
        Timestamp = at.UtcDateTime,
    };

    [Fact]
    public async Task ReportingUsagePostsAMeterEventForTheCustomer()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "u@example.com");

        await ReportAsync(bed, new MeterUsage(customerId, 42, Noon.AddMinutes(-5), "key1:2026-03-10T11"));

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
        await bed.Stripe.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customerId, 5, Noon, "key1:hour-11"), cancellationToken: Ct);

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Stripe.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customerId, 6, Noon, "key1:hour-11"), cancellationToken: Ct));

        Assert.True(StripeUsageMeter.IsDuplicate(error));
        Assert.Equal(2, bed.Emulator.Requests.Count(r => r.Path == "/v1/billing/meter_events"));
        Assert.Equal(5, Assert.Single(bed.Emulator.MeterEvents).Value);
    }

    [Fact]
    public async Task ReportingUsageAgainWithTheSameIdentifierCountsItOnce()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "o@example.com");
        var usage = new MeterUsage(customerId, 7, Noon, "key1:hour-11");
        await bed.Stripe.V1.Billing.MeterEvents.CreateAsync(MeterEvent(customerId, 7, Noon, usage.Identifier), cancellationToken: Ct);

        await ReportAsync(bed, usage);
        await ReportAsync(bed, usage);

        Assert.Single(bed.Emulator.MeterEvents);
    }

    [Fact]
    public async Task MeterEventOlderThan35DaysIsRefused()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "old@example.com");

        var error = await Assert.ThrowsAsync<StripeException>(
            () => ReportAsync(bed, new MeterUsage(customerId, 1, Noon.AddDays(-36), "old")));

        Assert.Equal("timestamp", error.StripeError.Param);
        Assert.Empty(bed.Emulator.MeterEvents);
    }

    [Fact]
    public async Task MeterEventMoreThanFiveMinutesAheadIsRefused()
    {
        await using var bed = await StartAtNoonAsync();
        var customerId = await CustomerAsync(bed, "ahead@example.com");

        var error = await Assert.ThrowsAsync<StripeException>(
            () => ReportAsync(bed, new MeterUsage(customerId, 1, Noon.AddMinutes(6), "ahead")));

        Assert.Equal("timestamp", error.StripeError.Param);
    }

    [Fact]
    public async Task MeterEventForAnUnknownCustomerIsRefused()
    {
        await using var bed = await StartAtNoonAsync();

        var error = await Assert.ThrowsAsync<StripeException>(
            () => ReportAsync(bed, new MeterUsage("cus_missing", 1, Noon, "ghost")));

        Assert.Equal("resource_missing", error.StripeError.Code);
        Assert.Equal("payload[stripe_customer_id]", error.StripeError.Param);
    }

    [Fact]
    public async Task EventSummarySumsOnlyThatCustomersUsageInsideTheWindow()
    {
        await using var bed = await StartAtNoonAsync();
        var ada = await CustomerAsync(bed, "ada@example.com");
        var bob = await CustomerAsync(bed, "bob@example.com");
        await ReportAsync(bed, new MeterUsage(ada, 10, Noon.AddHours(-2), "ada-1"));
        await ReportAsync(bed, new MeterUsage(ada, 32, Noon.AddMinutes(-30), "ada-2"));
        await ReportAsync(bed, new MeterUsage(ada, 1000, Noon.AddHours(-5), "ada-outside"));
        await ReportAsync(bed, new MeterUsage(bob, 500, Noon.AddMinutes(-30), "bob-1"));

        var summaries = await bed.Stripe.V1.Billing.Meters.EventSummaries.ListAsync(
            bed.MeterId,
            new BillingV1.MeterEventSummaryListOptions { Customer = ada, StartTime = Noon.AddHours(-3).UtcDateTime, EndTime = Noon.UtcDateTime },
            cancellationToken: Ct);

        var summary = Assert.Single(summaries.Data);
        Assert.Equal(42, summary.AggregatedValue);
        Assert.Equal(bed.MeterId, summary.Meter);
        Assert.Equal(Noon.AddHours(-3).UtcDateTime, summary.StartTime);
        Assert.Equal(Noon.UtcDateTime, summary.EndTime);
    }
}
