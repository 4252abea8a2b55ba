using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Monetization.Core;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Monetization.Stripe;

/// <summary>
/// Stripe's retry rules as a Polly pipeline under the HttpClient: retry network errors, attempt timeouts, 409, 429,
/// 5xx and anything marked <c>Stripe-Should-Retry: true</c>; never what is marked <c>false</c>. Delays grow
/// exponentially with jitter, and a 429 waits at least <see cref="StripeOptions.RateLimitDelay"/>. A POST is only
/// retried with an Idempotency-Key, so a retry can never create a second object.
/// </summary>
public sealed partial class StripeRetryHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _retrying;
    private readonly ResiliencePipeline<HttpResponseMessage> _single;
    private readonly ILogger _logger;

    public StripeRetryHandler(IOptions<StripeOptions> options, TimeProvider timeProvider, ILogger<StripeRetryHandler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var settings = options.Value;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        // Each attempt, and all attempts with the waits between them, end with the request's budget.
        var attemptTimeout = settings.AttemptTimeout;
        var timeout = new TimeoutStrategyOptions { TimeoutGenerator = _ => ValueTask.FromResult(CallBudget.Limit(attemptTimeout)) };
        var total = new TimeoutStrategyOptions { TimeoutGenerator = static _ => ValueTask.FromResult(CallBudget.Limit(Timeout.InfiniteTimeSpan)) };
        _single = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }.AddTimeout(timeout).Build();
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = timeProvider }.AddTimeout(total);
        if (settings.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = settings.MaxRetries,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RetryDelay(args.AttemptNumber, args.Outcome.Result, settings, Random.Shared.NextDouble())),
                OnRetry = args =>
                {
                    LogRetry(_logger, args.AttemptNumber + 1, (int?)args.Outcome.Result?.StatusCode, args.Outcome.Exception?.GetType().Name, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            });
        }

        _retrying = builder.AddTimeout(timeout).Build();
    }

    /// <summary>Whether Stripe's rules allow another attempt after this outcome.</summary>
    public static bool ShouldRetry(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Exception is not null)
        {
            return outcome.Exception is HttpRequestException or TimeoutRejectedException;
        }

        var response = outcome.Result!;
        if (response.Headers.TryGetValues("Stripe-Should-Retry", out var values))
        {
            var advice = values.FirstOrDefault();
            if (string.Equals(advice, "false", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }

            if (string.Equals(advice, "true", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500;
    }

    /// <param name="attempt">0 for the wait before the first retry.</param>
    /// <param name="jitter">A number in [0, 1): the delay is scaled into [50 %, 100 %] of its exponential value.</param>
    public static TimeSpan RetryDelay(int attempt, HttpResponseMessage? response, StripeOptions options, double jitter)
    {
        ArgumentNullException.ThrowIfNull(options);
        var exponential = options.RetryBaseDelay * Math.Pow(2, Math.Min(attempt, 16));
        var capped = exponential > options.RetryMaxDelay ? options.RetryMaxDelay : exponential;
        var delay = capped * (0.5 + (Math.Clamp(jitter, 0, 1) / 2));
        if (response?.StatusCode == HttpStatusCode.TooManyRequests)
        {
            var floor = options.RateLimitDelay * Math.Pow(2, Math.Min(attempt, 4));
            delay = delay < floor ? floor : delay;
        }

        // Stripe rarely sends Retry-After; when it does, a short one is a better guess than ours.
        if (response?.Headers.RetryAfter?.Delta is { } retryAfter && retryAfter <= TimeSpan.FromSeconds(60) && retryAfter > delay)
        {
            delay = retryAfter;
        }

        return delay;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var retryable = request.Method != HttpMethod.Post || request.Headers.Contains("Idempotency-Key");
        var pipeline = retryable ? _retrying : _single;
        return await pipeline.ExecuteAsync(
            static async (state, token) => await state.Self.SendOnceAsync(state.Request, token),
            (Self: this, Request: request),
            cancellationToken);
    }

    private Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrying Stripe request (retry {Retry}) after status {Status} / {Exception}, waiting {Delay}")]
    private static partial void LogRetry(ILogger logger, int retry, int? status, string? exception, TimeSpan delay);
}
