using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Core.Usage;
using Monetization.Stripe.Operations;

namespace Monetization.Stripe;

/// <summary>
/// Usage into Stripe's billing meter: small batches as v1 meter events (one call per event, the batch's customers in
/// parallel, each customer once), larger ones as one v2 stream request on a session renewed a minute before it
/// expires. Every event carries the caller's identifier, which Stripe deduplicates, so a batch sent again bills
/// nothing twice. Stripe's failures come back as <see cref="DependencyUnavailableException"/>.
/// </summary>
public sealed partial class StripeUsageMeter : IUsageMeter, IDisposable
{
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(1);

    private readonly StripeClient _client;
    private readonly StripeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<StripeUsageMeter> _logger;
    private readonly SemaphoreSlim _sessionGate = new(1, 1);
    private StripeMeterEventSession? _session;

    public StripeUsageMeter(StripeClient client, IOptions<StripeOptions> options, TimeProvider time, ILogger<StripeUsageMeter> logger)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public int MaxBatchSize => MeterEventStreamRequest.MaxEvents;

    public async Task ReportAsync(IReadOnlyList<MeterUsage> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            return;
        }

        if (batch.Count > MaxBatchSize || batch.Select(u => u.CustomerId).Distinct(StringComparer.Ordinal).Count() != batch.Count)
        {
            throw new ArgumentException($"A batch holds at most {MaxBatchSize} events, one per customer.", nameof(batch));
        }

        try
        {
            if (batch.Count >= _options.MeterEventStreamThreshold)
            {
                await StreamAsync(batch, cancellationToken);
            }
            else
            {
                await Task.WhenAll(batch.Select(u => SendOneAsync(u, cancellationToken)));
            }
        }
        catch (StripeException e) when (e.HttpStatus is null or 429 or >= 500 || e.HttpStatus == 401)
        {
            throw new DependencyUnavailableException("stripe", batch.Count >= _options.MeterEventStreamThreshold ? "POST /v2/billing/meter_event_stream" : "POST /v1/billing/meter_events", e);
        }
    }

    public void Dispose() => _sessionGate.Dispose();

    private async Task SendOneAsync(MeterUsage usage, CancellationToken cancellationToken)
    {
        try
        {
            // The identifier doubles as the idempotency key: a retry after a lost answer replays the first result.
            await _client.CreateMeterEventAsync(
                new CreateMeterEvent(_options.MeterEventName, usage.CustomerId, usage.Value, usage.Timestamp, usage.Identifier),
                $"meter-event:{usage.Identifier}",
                cancellationToken);
        }
        catch (StripeException e) when (e.IsDuplicateMeterEvent)
        {
            LogAlreadyReported(_logger, usage.Identifier, e.RequestId);
        }
    }

    private async Task StreamAsync(IReadOnlyList<MeterUsage> batch, CancellationToken cancellationToken)
    {
        var request = new MeterEventStreamRequest([.. batch.Select(u => new StreamMeterEvent(
            _options.MeterEventName,
            u.Identifier,
            u.Timestamp,
            new Dictionary<string, string>
            {
                ["stripe_customer_id"] = u.CustomerId,
                ["value"] = u.Value.ToString(CultureInfo.InvariantCulture),
            }))]);

        // The same events give the same key, so a retried request is recognised; the identifiers dedupe regardless.
        var idempotencyKey = "meter-stream:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join('\n', batch.Select(u => u.Identifier)))));
        var session = await SessionAsync(forceRenew: false, cancellationToken);
        try
        {
            await _client.StreamMeterEventsAsync(request, new Secret(session.AuthenticationToken), idempotencyKey, cancellationToken);
        }
        catch (StripeException e) when (e.HttpStatus == 401)
        {
            // The session ended early (revoked, or our clock is behind Stripe's): one new session, one more try.
            LogSessionRefused(_logger, session.Id, e.Code);
            session = await SessionAsync(forceRenew: true, cancellationToken);
            await _client.StreamMeterEventsAsync(request, new Secret(session.AuthenticationToken), idempotencyKey, cancellationToken);
        }
    }

    private async Task<StripeMeterEventSession> SessionAsync(bool forceRenew, CancellationToken cancellationToken)
    {
        await _sessionGate.WaitAsync(cancellationToken);
        try
        {
            var now = _time.GetUtcNow();
            if (!forceRenew && _session is { } current && current.ExpiresAt - RenewBefore > now)
            {
                return current;
            }

            var key = string.Create(CultureInfo.InvariantCulture, $"meter-session:{now.ToUnixTimeMilliseconds()}:{Guid.NewGuid():N}");
            _session = await _client.CreateMeterEventSessionAsync(key, cancellationToken);
            LogSessionCreated(_logger, _session.Id, _session.ExpiresAt);
            return _session;
        }
        finally
        {
            _sessionGate.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Meter event {Identifier} was already recorded by Stripe (request {RequestId})")]
    private static partial void LogAlreadyReported(ILogger logger, string identifier, string? requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Meter event session {SessionId} created, valid until {ExpiresAt:O}")]
    private static partial void LogSessionCreated(ILogger logger, string sessionId, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Meter event session {SessionId} was refused ({Code}); creating a new one")]
    private static partial void LogSessionRefused(ILogger logger, string sessionId, string? code);
}
