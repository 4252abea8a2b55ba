using System.Diagnostics;
using System.Net;
using Monetization.Core;
using Monetization.Emulators.Faults;
using Monetization.Stripe.Operations;
using Monetization.Stripe;
using Polly;

namespace Monetization.Tests.Stripe;

public sealed class StripeResilienceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static CreateCustomer Ada => new("ada@example.com", "Ada", null);

    [Fact]
    public async Task ReplayingAnIdempotencyKeyReturnsTheSameCustomer()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);

        var first = await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);
        var second = await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

        Assert.Equal(first.Id, second.Id);
        Assert.Single(bed.Emulator.Customers, c => c.Email == "ada@example.com");
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task ReusingAKeyWithOtherParametersIsAnIdempotencyError()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

        var error = await Assert.ThrowsAsync<StripeException>(
            () => bed.Client.CreateCustomerAsync(Ada with { Email = "eve@example.com" }, "signup:ada", Ct));

        Assert.True(error.IsIdempotencyError);
        Assert.Equal(400, error.HttpStatus);
        Assert.Single(bed.Emulator.Customers);
    }

    [Fact]
    public async Task ConcurrentRequestsWithOneKeyCreateOneCustomer()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.AddLatency(TimeSpan.FromMilliseconds(50), "POST", "/v1/customers");

        var customers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct)));

        Assert.Single(customers.Select(c => c.Id).Distinct());
        Assert.Single(bed.Emulator.Customers);
    }

    [Fact]
    public async Task ServerErrorIsRetriedWithTheSameKeyUntilItSucceeds()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 500, Count = 2 });

        var customer = await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

        Assert.Equal(3, bed.RequestsWithKey("signup:ada"));
        Assert.Equal(customer.Id, Assert.Single(bed.Emulator.Customers).Id);
    }

    [Fact]
    public async Task RateLimitingThatOutlastsTheRetriesIsDependencyUnavailable()
    {
        await using var bed = await StripeTestBed.StartAsync(o => o.MaxRetries = 1, cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 429, Count = 2 });

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct));

        Assert.Equal("POST /v1/customers", unavailable.Operation);
        Assert.Equal(429, Assert.IsType<StripeException>(unavailable.InnerException).HttpStatus);
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task ConflictIsRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 409, Count = 1 });

        await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
    }

    [Fact]
    public async Task BadRequestIsNotRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 400, Count = 1 });

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct));

        Assert.Equal(400, error.HttpStatus);
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

        var error = await Assert.ThrowsAsync<StripeException>(() => bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct));

        Assert.Equal(500, error.HttpStatus);
        Assert.Equal("api_error", error.Type);
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

        await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

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
        await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

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

        Assert.True(StripeRetryHandler.RetryDelay(attempt, limited, options, jitter) >= options.RateLimitDelay);
        Assert.True(StripeRetryHandler.RetryDelay(attempt, failed, options, jitter) <= options.RetryMaxDelay);
        Assert.True(StripeRetryHandler.RetryDelay(attempt, failed, options, jitter) >= options.RetryBaseDelay / 2);
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

        Assert.Equal(retried, StripeRetryHandler.ShouldRetry(Outcome.FromResult(response)));
    }

    [Fact]
    public async Task ConnectionResetAfterTheCustomerWasCreatedIsRetriedWithoutADuplicate()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Reset, Phase = FaultPhase.After, Count = 1 });

        var customer = await bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct);

        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
        Assert.Equal(customer.Id, Assert.Single(bed.Emulator.Customers).Id);
    }

    [Fact]
    public async Task ConnectionResetBeforeTheServerIsReachedIsRetried()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { Method = "GET", PathPrefix = "/v1/customers", Kind = FaultKind.Reset, Count = 1 });

        var list = await bed.Client.ListCustomersByEmailAsync(new ListCustomersByEmail("nobody@example.com"), Ct);

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

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct));

        Assert.Equal("stripe", unavailable.Dependency);
        var error = Assert.IsType<StripeException>(unavailable.InnerException);
        Assert.Null(error.HttpStatus);
        Assert.Equal(StripeException.ConnectionErrorType, error.Type);
        Assert.Equal(2, bed.RequestsWithKey("signup:ada"));
        Assert.Empty(bed.Emulator.Customers);
    }

    [Fact]
    public async Task ServerErrorStoredUnderTheKeyIsReplayedToEveryRetry()
    {
        await using var bed = await StripeTestBed.StartAsync(cancellationToken: Ct);
        bed.Emulator.Faults.Add(new FaultRule { PathPrefix = "/v1/customers", Kind = FaultKind.Status, Status = 500, Phase = FaultPhase.After, Count = 1 });

        var unavailable = await Assert.ThrowsAsync<DependencyUnavailableException>(() => bed.Client.CreateCustomerAsync(Ada, "signup:ada", Ct));

        var error = Assert.IsType<StripeException>(unavailable.InnerException);
        Assert.Equal(500, error.HttpStatus);
        Assert.Equal(3, bed.RequestsWithKey("signup:ada"));
        Assert.Empty(bed.Emulator.Customers);
    }
}
