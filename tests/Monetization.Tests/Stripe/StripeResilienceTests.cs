using System.Diagnostics;
using System.Net;
using Monetization.Core;
using Monetization.Emulators.Faults;
using Monetization.Stripe;
using Polly;
using Stripe;

namespace Monetization.Tests.Stripe;

/// <summary>Stripe.net through <see cref="StripeTransport"/>: idempotency, Stripe's retry rules and the one failure policy.</summary>
public sealed class StripeResilienceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static CustomerCreateOptions Ada => new() { Email = "ada@example.com", Name = "Ada" };

    private static Task<Customer> CreateAsync(StripeTestBed bed, string idempotencyKey, CustomerCreateOptions? options = null) =>
        bed.Stripe.V1.Customers.CreateAsync(options ?? Ada, StripeTestBed.Key(idempotencyKey), Ct);

    [Fact]
    public async Task ReplayingAnIdempotencyKeyReturnsTheSameCustomer()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        var first = await CreateAsync(bed, "signup:ada");
        var second = await CreateAsync(bed, "signup:ada");

        Assert.Equal(first.Id, second.Id);
        Assert.Single(bed.Emulator.Customers, c => c.Email == "ada@example.com");
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task ReusingAKeyWithOtherParametersIsAnIdempotencyError()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        await CreateAsync(bed, "signup:ada");

        var error = await Assert.ThrowsAsync<StripeException>(
            () => CreateAsync(bed, "signup:ada", new CustomerCreateOptions { Email = "eve@example.com", Name = "Ada" }));

        Assert.Equal("idempotency_error", error.StripeError.Type);
        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Single(bed.Emulator.Customers);
    }

    [Fact]
    public async Task ConcurrentRequestsWithOneKeyCreateOneCustomer()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.AddLatency(TimeSpan.FromMilliseconds(50), "POST", "/v1/customers");

        var customers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => CreateAsync(bed, "signup:ada")));

        Assert.Single(customers.Select(c => c.Id).Distinct());
        Assert.Single(bed.Emulator.Customers);
    }

    [Fact]
    public async Task ServerErrorIsRetriedWithTheSameKeyUntilItSucceeds()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 500, Count = 2 });

        var customer = await CreateAsync(bed, "signup:ada");

        Assert.Equal(3, bed.RequestsWithKey("signup:ada"));
        Assert.Equal(customer.Id, Assert.Single(bed.Emulator.Customers).Id);
    }

    [Fact]
    public async Task RateLimitingThatOutlastsTheRetriesIsDependencyUnavailable()
    {
        await using var bed = await StripeTestBed.StartAsync(o => o.MaxRetries = 1, cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 429, Count = 2 });

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => CreateAsync(bed, "signup:ada"));

        Assert.Equal("POST /v1/customers", unavailable.Operation);
        Assert.Equal(HttpStatusCode.TooManyRequests, Assert.IsType<HttpRequestException>(unavailable.InnerException).StatusCode);
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task ConflictIsRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 409, Count = 1 });

        await CreateAsync(bed, "signup:ada");

        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task BadRequestIsNotRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 400, Count = 1 });

        var error = await Assert.ThrowsAsync<StripeException>(() => CreateAsync(bed, "signup:ada"));

        Assert.Equal(HttpStatusCode.BadRequest, error.HttpStatusCode);
        Assert.Equal(1, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task ServerErrorMarkedShouldNotRetryIsNotRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule
        {
            PathPrefix = "/v1/customers",
            Kind = FaultKind.Status,
            Status = 500,
            Count = 1,
            Headers = new Dictionary<string, string> { ["Stripe-Should-Retry"] = "false" },
        });

        var error = await Assert.ThrowsAsync<StripeException>(() => CreateAsync(bed, "signup:ada"));

        Assert.Equal(HttpStatusCode.InternalServerError, error.HttpStatusCode);
        Assert.Equal("api_error", error.StripeError.Type);
        Assert.Equal(1, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task ClientErrorMarkedShouldRetryIsRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule
        {
            PathPrefix = "/v1/customers",
            Kind = FaultKind.Status,
            Status = 400,
            Count = 1,
            Headers = new Dictionary<string, string> { ["Stripe-Should-Retry"] = "true" },
        });

        await CreateAsync(bed, "signup:ada");

        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    private static readonly TimeSpan TimerResolution = TimeSpan.FromMilliseconds(16);

    [Fact]
    public async Task RateLimitedRequestWaitsAtLeastTheRateLimitDelayBeforeRetrying()
    {
        var rateLimitDelay = TimeSpan.FromMilliseconds(300);
        await using var bed = await StripeTestBed.StartAsync(o => o.RateLimitDelay = rateLimitDelay, cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 429, Count = 1 });

        var clock = Stopwatch.StartNew();
        await CreateAsync(bed, "signup:ada");

        // .NET's timers count whole milliseconds of a coarse tick, so a delay can end a tick early; more is a shorter wait.
        Assert.True(clock.Elapsed >= rateLimitDelay - TimerResolution, $"retried after {clock.Elapsed}");
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(0, 0.99)]
    [InlineData(3, 0.5)]
    public void RetryDelayAfterARateLimitIsNeverShorterThanTheRateLimitDelay(int attempt, double jitter)
    {
        var options = new StripeOptions { RetryBaseDelay = TimeSpan.FromMilliseconds(100), RetryMaxDelay = TimeSpan.FromSeconds(1), RateLimitDelay = TimeSpan.FromSeconds(2) };
        using var limited = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        using var failed = new HttpResponseMessage(HttpStatusCode.InternalServerError);

        Assert.True(StripeTransport.RetryDelay(attempt, limited, options, jitter) >= options.RateLimitDelay);
        Assert.True(StripeTransport.RetryDelay(attempt, failed, options, jitter) <= options.RetryMaxDelay);
        Assert.True(StripeTransport.RetryDelay(attempt, failed, options, jitter) >= options.RetryBaseDelay / 2);
    }

    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, null, true)]
    [InlineData(HttpStatusCode.ServiceUnavailable, null, true)]
    [InlineData(HttpStatusCode.Conflict, null, true)]
    [InlineData(HttpStatusCode.TooManyRequests, null, true)]
    [InlineData(HttpStatusCode.BadRequest, null, false)]
    [InlineData(HttpStatusCode.NotFound, null, false)]
    [InlineData(HttpStatusCode.InternalServerError, "false", false)]
    [InlineData(HttpStatusCode.BadRequest, "true", true)]
    public void RetryRulesFollowStatusAndStripeShouldRetry(HttpStatusCode status, string? shouldRetry, bool retried)
    {
        using var response = new HttpResponseMessage(status);
        if (shouldRetry is not null)
        {
            response.Headers.Add("Stripe-Should-Retry", shouldRetry);
        }

        Assert.Equal(retried, StripeTransport.ShouldRetry(Outcome.FromResult(response)));
    }

    [Fact]
    public async Task ConnectionResetAfterTheCustomerWasCreatedIsRetriedWithoutADuplicate()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Reset, Phase = FaultPhase.After, Count = 1 });

        var customer = await CreateAsync(bed, "signup:ada");

        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
        Assert.Equal(customer.Id, Assert.Single(bed.Emulator.Customers).Id);
    }

    [Fact]
    public async Task ConnectionResetBeforeTheServerIsReachedIsRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { Method = "GET", PathPrefix = "/v1/customers", Kind = FaultKind.Reset, Count = 1 });

        var list = await bed.Stripe.V1.Customers.ListAsync(new CustomerListOptions { Email = "nobody@example.com" }, cancellationToken: Ct);

        Assert.Empty(list.Data);
        Assert.Equal(2, bed.Emulator.Requests.Count(r => r.Method == "GET" && r.Path == "/v1/customers"));
    }

    [Fact]
    public async Task AttemptsThatTimeOutAreRetriedThenReportedAsAConnectionError()
    {
        await using var bed = await StripeTestBed.StartAsync(
            o =>
            {
                o.AttemptTimeout = TimeSpan.FromMilliseconds(250);
                o.MaxRetries = 1;
            },
            cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Timeout, Count = 2 });

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => CreateAsync(bed, "signup:ada"));

        Assert.Equal("stripe", unavailable.Dependency);
        Assert.Equal("POST /v1/customers", unavailable.Operation);
        Assert.IsType<TimeoutException>(unavailable.InnerException);
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
        Assert.Empty(bed.Emulator.Customers);
    }

    [Fact]
    public async Task ServerErrorStoredUnderTheKeyIsReplayedToEveryRetry()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 500, Phase = FaultPhase.After, Count = 1 });

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => CreateAsync(bed, "signup:ada"));

        Assert.Equal(HttpStatusCode.InternalServerError, Assert.IsType<HttpRequestException>(unavailable.InnerException).StatusCode);
        Assert.Equal(3, bed.RequestsWithKey("signup:ada"));
        Assert.Empty(bed.Emulator.Customers);
    }
}
