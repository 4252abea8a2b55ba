using System.Globalization;
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
/// Everything between Stripe.net and the network, in one place, under the <see cref="HttpClient"/> Stripe.net sends
/// through (its own retries are off, so there is one retry layer):
/// <list type="bullet">
/// <item>Idempotency: a POST carries the key its caller derived from the ledger, so a retried flow (another Lambda
/// attempt included) replays Stripe's first answer; one without (Stripe.net then adds a random GUID) is refused before
/// it is sent. Two kinds go without one, since a key would make Stripe replay a stored 500 to every resend for a day:
/// meter events, which Stripe deduplicates on their own <c>identifier</c>, and billing portal sessions, which change
/// nothing (a retry that opens a second short-lived session is harmless).</item>
/// <item>Retries by Stripe's rules: network errors, attempt timeouts, 409, 429, 5xx and anything marked
/// <c>Stripe-Should-Retry: true</c>; never what is marked <c>false</c>. Delays grow exponentially with jitter, a 429
/// waits at least <see cref="StripeOptions.RateLimitDelay"/>, and every attempt ends with the request's
/// <see cref="CallBudget"/>.</item>
/// <item>The failure policy: Stripe not answering usably after the retries (unreachable, timed out, rate limited,
/// 5xx) is a <see cref="DependencyUnavailableException"/>; Stripe refusing the secret key (401, or 403 for a restricted
/// key without the permission) is a <see cref="StripeKeyRejectedException"/>, a configuration error; every other answer goes back to Stripe.net, which reads a refusal into
/// its <c>Stripe.StripeException</c>.</item>
/// </list>
/// </summary>
public sealed partial class StripeTransport : DelegatingHandler
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>
    /// POSTs sent without an idempotency key: the meter event endpoints (deduplicated by each event's identifier; a
    /// meter event session is just a token) and billing portal sessions (harmless and short-lived).
    /// </summary>
    private static readonly string[] UnkeyedPaths = ["/v1/billing/meter_events", "/v2/billing/meter_event_session", "/v2/billing/meter_event_stream", "/v1/billing_portal/sessions"];

    /// <summary>Authenticated with a meter event session's token, not the secret key.</summary>
    private const string SessionAuthenticatedPath = "/v2/billing/meter_event_stream";

    private readonly ResiliencePipeline<HttpResponseMessage> _retrying;
    private readonly ILogger _logger;

    public StripeTransport(IOptions<StripeOptions> options, TimeProvider timeProvider, ILogger<StripeTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        var settings = options.Value;
        _logger = logger ?? (ILogger)NullLogger.Instance;

        // Each attempt, and all attempts with the waits between them, end with the request's budget.
        var attemptTimeout = settings.AttemptTimeout;
        var timeout = new TimeoutStrategyOptions { TimeoutGenerator = _ => ValueTask.FromResult(CallBudget.Limit(attemptTimeout)) };
        var total = new TimeoutStrategyOptions { TimeoutGenerator = static _ => ValueTask.FromResult(CallBudget.Limit(Timeout.InfiniteTimeSpan)) };
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
        return ShouldRetryAdvice(response) ?? (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500);
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
        var path = request.RequestUri?.AbsolutePath ?? "/";
        var operation = $"{request.Method} {path}";
        if (UnkeyedPaths.Contains(path, StringComparer.Ordinal))
        {
            request.Headers.Remove(IdempotencyKeyHeader);
        }
        else if (request.Method == HttpMethod.Post && !HasLedgerKey(request))
        {
            throw new InvalidOperationException($"{operation} needs an idempotency key derived from the ledger (RequestOptions.IdempotencyKey); Stripe.net's random one would let a retried flow create a second object.");
        }

        HttpResponseMessage response;
        try
        {
            response = await _retrying.ExecuteAsync(
                static async (state, token) => await state.Self.SendOnceAsync(state.Request, token),
                (Self: this, Request: request),
                cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new DependencyUnavailableException("stripe", operation, e);
        }
        catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new DependencyUnavailableException("stripe", operation, new TimeoutException($"Stripe did not answer {operation} in time.", e));
        }

        if (IsUnavailable(response))
        {
            using (response)
            {
                throw new DependencyUnavailableException("stripe", operation, new HttpRequestException(Describe(response, operation), null, response.StatusCode));
            }
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden && path != SessionAuthenticatedPath)
        {
            using (response)
            {
                throw new StripeKeyRejectedException(operation, (int)response.StatusCode, RequestId(response));
            }
        }

        return response;
    }

    private Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    /// <summary>Ledger-derived keys are never bare GUIDs, which is the form Stripe.net gives a POST sent without one.</summary>
    private static bool HasLedgerKey(HttpRequestMessage request) =>
        request.Headers.TryGetValues(IdempotencyKeyHeader, out var values)
        && values.FirstOrDefault() is { Length: > 0 } key
        && !Guid.TryParseExact(key, "D", out _);

    /// <summary>
    /// Rate limited or failing after the retries, unless Stripe said another try would not help (a stored result, say):
    /// that is Stripe's final word on the request, not an outage.
    /// </summary>
    private static bool IsUnavailable(HttpResponseMessage response) =>
        ((int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests) && ShouldRetryAdvice(response) != false;

    private static bool? ShouldRetryAdvice(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Stripe-Should-Retry", out var values)
            ? values.FirstOrDefault() switch
            {
                var advice when string.Equals(advice, "true", StringComparison.OrdinalIgnoreCase) => true,
                var advice when string.Equals(advice, "false", StringComparison.OrdinalIgnoreCase) => false,
                _ => null,
            }
            : null;

    private static string? RequestId(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Request-Id", out var ids) ? ids.FirstOrDefault() : null;

    private static string Describe(HttpResponseMessage response, string operation) =>
        string.Create(CultureInfo.InvariantCulture, $"Stripe answered {(int)response.StatusCode} {response.ReasonPhrase} to {operation} (request {RequestId(response) ?? "unknown"}).");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retrying Stripe request (retry {Retry}) after status {Status} / {Exception}, waiting {Delay}")]
    private static partial void LogRetry(ILogger logger, int retry, int? status, string? exception, TimeSpan delay);
}
