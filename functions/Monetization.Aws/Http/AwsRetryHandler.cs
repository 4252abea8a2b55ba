using System.Net;
using Polly;
using Monetization.Core;
using Polly.Retry;
using Polly.Timeout;

namespace Monetization.Aws.Http;

/// <summary>
/// Retries throttling (429 and throttling error codes, which JSON 1.1 services send as 400) and 5xx answers with
/// jittered exponential backoff; a throttled answer that says when to come back (<c>Retry-After</c>, which API
/// Gateway's TooManyRequestsException carries) is waited for instead, up to the longest delay, so a call over a
/// control-plane quota takes its turn rather than failing. Every other 4xx is the caller's mistake or an expected outcome and goes back at once.
/// Sits outside <see cref="AwsSigningHandler"/> so each attempt is signed again. The attempts and the waits between
/// them end with the request's <see cref="CallBudget"/>, so a retry never runs into the time the clean-up needs.
/// </summary>
public sealed class AwsRetryHandler : DelegatingHandler
{
    private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

    public AwsRetryHandler(AwsClientOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddTimeout(new TimeoutStrategyOptions { TimeoutGenerator = static _ => ValueTask.FromResult(CallBudget.Limit(Timeout.InfiniteTimeSpan)) });
        if (options.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetries,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Result?.Headers.RetryAfter?.Delta is { } wait && wait > TimeSpan.Zero
                        ? (TimeSpan?)(wait < options.RetryMaxDelay ? wait : options.RetryMaxDelay)
                        : null),
                ShouldHandle = static args => args.Outcome.Result is { } response
                    ? ShouldRetryAsync(response, args.Context.CancellationToken)
                    : ValueTask.FromResult(false),
            });
        }

        _pipeline = builder.Build();
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        await _pipeline.ExecuteAsync(
            static async (state, token) => await state.Handler.SendOnceAsync(state.Request, token),
            (Handler: this, Request: request),
            cancellationToken);

    private Task<HttpResponseMessage> SendOnceAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        base.SendAsync(request, cancellationToken);

    private static async ValueTask<bool> ShouldRetryAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (status >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            return true;
        }

        if (status < 400)
        {
            return false;
        }

        var code = await AwsErrors.ReadErrorCodeAsync(response, cancellationToken);
        return AwsErrors.IsRetryable(response.StatusCode, code);
    }
}
