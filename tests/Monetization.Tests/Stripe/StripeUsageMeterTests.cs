using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Core.Usage;
using Monetization.Emulators.Stripe;
using Monetization.Emulators.Faults;
using Monetization.Stripe;
using Monetization.Tests.Infrastructure;
using Stripe;
using BillingV1 = Stripe.Billing;
using BillingV2 = Stripe.V2.Billing;

namespace Monetization.Tests.Stripe;

/// <summary>The usage meter on Stripe: v1 for small batches, the v2 session and stream for large ones, against the emulator.</summary>
public sealed class StripeUsageMeterTests
{
    private static readonly DateTimeOffset Noon = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABatchBelowTheStreamThresholdIsSentAsOneV1MeterEventPerCustomer()
    {
        await using var bed = await Bed.StartAsync();
        var batch = await bed.BatchAsync(3);

        await bed.Meter.ReportAsync(batch, Ct);

        Assert.Equal(3, bed.Emulator.Requests.Count(r => r.Path == "/v1/billing/meter_events"));
        Assert.Equal(0, bed.Emulator.MeterEventSessionsCreated);
        Assert.Equal(batch.Select(u => u.Identifier).Order(), bed.Emulator.MeterEvents.Select(e => e.Identifier).Order());
    }

    [Fact]
    public async Task AHundredEventsTravelInOneStreamRequestOnASessionReusedUntilAMinuteBeforeItExpires()
    {
        await using var bed = await Bed.StartAsync();
        var first = await bed.BatchAsync(100);
        var second = await bed.BatchAsync(100);
        var third = await bed.BatchAsync(100);

        await bed.Meter.ReportAsync(first, Ct);
        bed.Clock.Advance(TimeSpan.FromMinutes(13));
        await bed.Meter.ReportAsync(second, Ct);
        Assert.Equal(1, bed.Emulator.MeterEventSessionsCreated);
        bed.Clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        await bed.Meter.ReportAsync(third, Ct);

        Assert.Equal(2, bed.Emulator.MeterEventSessionsCreated);
        Assert.Equal(3, bed.Emulator.Requests.Count(r => r.Path == "/v2/billing/meter_event_stream"));
        Assert.Equal(300, bed.Emulator.MeterEvents.Count);
        var streamed = Assert.Single(bed.Emulator.MeterEvents, e => e.Identifier == first[7].Identifier);
        Assert.Equal((first[7].CustomerId, first[7].Value, first[7].Timestamp.ToUnixTimeSeconds()), (streamed.CustomerId, streamed.Value, streamed.Timestamp));
    }

    [Fact]
    public async Task AStreamedBatchSentAgainIsRecordedOnce()
    {
        await using var bed = await Bed.StartAsync();
        var batch = await bed.BatchAsync(20);

        await bed.Meter.ReportAsync(batch, Ct);
        await bed.Meter.ReportAsync(batch, Ct);

        Assert.Equal(20, bed.Emulator.MeterEvents.Count);
    }

    [Fact]
    public async Task ASessionStripeEndedEarlyIsReplacedAndTheBatchDelivered()
    {
        // Stripe's clock runs 20 minutes ahead of ours: the session we still trust has expired there.
        var stripeClock = new ManualTimeProvider(Noon);
        await using var bed = await Bed.StartAsync(stripeClock);
        await bed.Meter.ReportAsync(await bed.BatchAsync(10), Ct);
        stripeClock.Advance(TimeSpan.FromMinutes(20));

        await bed.Meter.ReportAsync(await bed.BatchAsync(10), Ct);

        Assert.Equal(2, bed.Emulator.MeterEventSessionsCreated);
        Assert.Equal(20, bed.Emulator.MeterEvents.Count);
    }

    [Fact]
    public async Task MeterEventsCarryNoIdempotencyKeySoAStoredErrorIsNeverReplayed()
    {
        await using var bed = await Bed.StartAsync();
        var small = await bed.BatchAsync(3);
        var large = await bed.BatchAsync(10);

        await bed.Meter.ReportAsync(small, Ct);
        await bed.Meter.ReportAsync(large, Ct);

        Assert.All(
            bed.Emulator.Requests.Where(r => r.Path.Contains("meter_event", StringComparison.Ordinal)),
            r => Assert.Null(r.IdempotencyKey));
        Assert.Equal(13, bed.Emulator.MeterEvents.Count);
    }

    [Fact]
    public async Task AReportThatStripeFailedWithA500IsBilledByTheNextReport()
    {
        await using var bed = await Bed.StartAsync();
        var batch = await bed.BatchAsync(1);

        // Stripe ran the request and failed it, three times: more than the retries.
        bed.Emulator.InjectFault(new FaultRule { PathPrefix = "/v1/billing/meter_events", Status = 500, Phase = FaultPhase.After, Count = 3 });
        await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Meter.ReportAsync(batch, Ct));
        await bed.Meter.ReportAsync(batch, Ct);

        Assert.Equal(batch[0].Value, Assert.Single(bed.Emulator.MeterEvents).Value);
    }

    [Fact]
    public async Task StripeFailingTheStreamSurfacesAsDependencyUnavailableAndRecordsNothing()
    {
        await using var bed = await Bed.StartAsync();
        var batch = await bed.BatchAsync(10);
        bed.Emulator.InjectFault(new FaultRule { PathPrefix = "/v2/billing/meter_event_stream", Status = 500, Count = 10 });

        var failure = await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Meter.ReportAsync(batch, Ct));

        Assert.Equal("stripe", failure.Dependency);
        Assert.Empty(bed.Emulator.MeterEvents);
    }

    [Fact]
    public async Task AStreamRequestStripeRateLimitedIsSentAgainAfterABackOffAndRecordedOnce()
    {
        await using var bed = await Bed.StartAsync();
        var batch = await bed.BatchAsync(10);
        bed.Emulator.InjectFault(new FaultRule { PathPrefix = "/v2/billing/meter_event_stream", Status = 429, Count = 2 });

        await bed.Meter.ReportAsync(batch, Ct);

        Assert.Equal(3, bed.Emulator.Requests.Count(r => r.Path == "/v2/billing/meter_event_stream"));
        Assert.Equal(10, bed.Emulator.MeterEvents.Count);
    }

    [Fact]
    public async Task TheStreamRefusesJsonItDoesNotKnowAndMoreThanAHundredEvents()
    {
        await using var bed = await Bed.StartAsync();
        var session = await bed.Stripe.V2.Billing.MeterEventSession.CreateAsync(new BillingV2.MeterEventSessionCreateOptions(), cancellationToken: Ct);
        using var http = new HttpClient();

        async Task<(HttpStatusCode, string)> StreamAsync(string json)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(bed.Emulator.Endpoint, "/v2/billing/meter_event_stream"))
            {
                Content = new StringContent(json, Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new("Bearer", session.AuthenticationToken);
            using var response = await http.SendAsync(request, Ct);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(Ct));
        }

        var unknown = await StreamAsync("""{"events":[{"event_name":"api_requests","payload":{"stripe_customer_id":"cus_x","value":"1"},"colour":"red"}]}""");
        var many = await StreamAsync("{\"events\":[" + string.Join(',', Enumerable.Repeat("""{"event_name":"api_requests","payload":{"value":"1"}}""", 101)) + "]}");
        var numeric = await StreamAsync("""{"events":[{"event_name":"api_requests","payload":{"stripe_customer_id":"cus_x","value":1}}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, unknown.Item1);
        Assert.Contains("colour", unknown.Item2, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, many.Item1);
        Assert.Equal(HttpStatusCode.BadRequest, numeric.Item1);
        Assert.Empty(bed.Emulator.MeterEvents);
    }

    [Fact]
    public async Task StreamedEventsAddUpInTheMetersEventSummariesAndTheMeterIsListed()
    {
        await using var bed = await Bed.StartAsync();
        var batch = await bed.BatchAsync(10);
        await bed.Meter.ReportAsync(batch, Ct);
        await bed.Meter.ReportAsync([batch[0] with { Identifier = "again-" + batch[0].Identifier, Value = 4 }], Ct);

        var summaries = await bed.Stripe.V1.Billing.Meters.EventSummaries.ListAsync(
            bed.MeterId,
            new BillingV1.MeterEventSummaryListOptions { Customer = batch[0].CustomerId, StartTime = Noon.AddHours(-1).UtcDateTime, EndTime = Noon.AddHours(1).UtcDateTime },
            cancellationToken: Ct);
        using var http = new HttpClient();
        using var list = new HttpRequestMessage(HttpMethod.Get, new Uri(bed.Emulator.Endpoint, "/v1/billing/meters"));
        list.Headers.Authorization = new("Bearer", bed.Emulator.SecretKey);
        using var meters = await http.SendAsync(list, Ct);

        Assert.Equal(batch[0].Value + 4, Assert.Single(summaries.Data).AggregatedValue);
        Assert.Contains(bed.MeterId, await meters.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    private sealed class Bed : IAsyncDisposable
    {
        private readonly ServiceProvider _services;
        private int _next;

        private Bed(StripeEmulator emulator, ServiceProvider services, ManualTimeProvider clock, string meterId)
        {
            Emulator = emulator;
            _services = services;
            Clock = clock;
            MeterId = meterId;
        }

        public StripeEmulator Emulator { get; }

        public ManualTimeProvider Clock { get; }

        public string MeterId { get; }

        public IUsageMeter Meter => _services.GetRequiredService<IUsageMeter>();

        public StripeClient Stripe => _services.GetRequiredService<StripeClient>();

        public static async Task<Bed> StartAsync(ManualTimeProvider? stripeClock = null)
        {
            var clock = new ManualTimeProvider(Noon);
            var emulator = await StripeEmulator.StartAsync(new StripeEmulatorOptions { TimeProvider = stripeClock ?? clock }, Ct);
            var services = new ServiceCollection()
                .AddSingleton<TimeProvider>(clock)
                .AddStripeUsageMeter(o =>
                {
                    o.SecretKey = new Secret(emulator.SecretKey);
                    o.ApiBase = emulator.Endpoint;
                    o.MeterEventsBase = emulator.Endpoint;
                    o.MeterEventName = StripeTestBed.MeterEventName;
                    o.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
                    o.RetryMaxDelay = TimeSpan.FromMilliseconds(20);
                    o.RateLimitDelay = TimeSpan.FromMilliseconds(20);
                })
                .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
            var meter = await StripeSetup.CreateMeterAsync(services.GetRequiredService<StripeClient>(), StripeTestBed.MeterEventName, "meter", Ct);
            return new Bed(emulator, services, clock, meter.Id);
        }

        /// <summary>One event each for that many new customers.</summary>
        public async Task<IReadOnlyList<MeterUsage>> BatchAsync(int customers)
        {
            var batch = new List<MeterUsage>();
            for (var i = 0; i < customers; i++)
            {
                var n = Interlocked.Increment(ref _next);
                var customer = await Stripe.V1.Customers.CreateAsync(new CustomerCreateOptions { Name = $"c{n}" }, StripeTestBed.Key($"customer-{n}"), Ct);
                batch.Add(new MeterUsage(customer.Id, n, Noon.AddMinutes(-n % 30), $"usage:k{n}:20260310:{n}"));
            }

            return batch;
        }

        public async ValueTask DisposeAsync()
        {
            await _services.DisposeAsync();
            await Emulator.DisposeAsync();
        }
    }
}
