using System.Globalization;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Core.Usage;
using Stripe;
using BillingV1 = Stripe.Billing;
using BillingV2 = Stripe.V2.Billing;

namespace Monetization.Stripe;

/// <summary>
/// Usage into Stripe's billing meter: small batches as v1 meter events (one call per event, the batch's customers in
/// parallel, each customer once), larger ones as one v2 stream request on a session renewed a minute before it
/// expires. Every event carries the caller's identifier, which Stripe deduplicates, so a batch sent again bills
/// nothing twice; an event Stripe already holds counts as delivered. Outages come back from
/// <see cref="StripeTransport"/> as <see cref="DependencyUnavailableException"/>.
/// </summary>
public sealed partial class StripeUsageMeter : IUsageMeter, IDisposable
{
    /// <summary>The most events one stream request takes.</summary>
    public const int MaxStreamEvents = 100;

    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(1);

    private readonly StripeClient _stripe;
    private readonly StripeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<StripeUsageMeter> _logger;
    private readonly SemaphoreSlim _sessionGate = new(1, 1);
    private BillingV2.MeterEventSession? _session;

    public StripeUsageMeter(StripeClient stripe, IOptions<StripeOptions> options, TimeProvider time, ILogger<StripeUsageMeter> logger)
    {
        ArgumentNullException.ThrowIfNull(stripe);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _stripe = stripe;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    public int MaxBatchSize => MaxStreamEvents;

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

        if (batch.Count >= _options.MeterEventStreamThreshold)
        {
            await StreamAsync(batch, cancellationToken);
        }
        else
        {
            await Task.WhenAll(batch.Select(u => SendOneAsync(u, cancellationToken)));
        }
    }

    public void Dispose() => _sessionGate.Dispose();

    /// <summary>
    /// Stripe refuses a meter event whose identifier it already holds with a plain 400 and the message
    /// "An event already exists with identifier …" (no code is documented), so the message is what tells.
    /// </summary>
    public static bool IsDuplicate(StripeException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.HttpStatusCode == HttpStatusCode.BadRequest
            && e.StripeError?.Type == "invalid_request_error"
            && e.StripeError.Message?.StartsWith("An event already exists with identifier", StringComparison.Ordinal) == true;
    }

    private async Task SendOneAsync(MeterUsage usage, CancellationToken cancellationToken)
    {
        try
        {
            await _stripe.V1.Billing.MeterEvents.CreateAsync(
                new BillingV1.MeterEventCreateOptions
                {
                    EventName = _options.MeterEventName,
                    Identifier = usage.Identifier,
                    Payload = Payload(usage),
                    Timestamp = usage.Timestamp.UtcDateTime,
                },
                null,
                cancellationToken);
        }
        catch (StripeException e) when (IsDuplicate(e))
        {
            LogAlreadyReported(_logger, usage.Identifier, e.StripeResponse?.RequestId);
        }
    }

    private async Task StreamAsync(IReadOnlyList<MeterUsage> batch, CancellationToken cancellationToken)
    {
        var request = new BillingV2.MeterEventStreamCreateOptions
        {
            Events = [.. batch.Select(u => new BillingV2.MeterEventStreamCreateEventOptions
            {
                EventName = _options.MeterEventName,
                Identifier = u.Identifier,
                Payload = Payload(u),
                Timestamp = u.Timestamp.UtcDateTime,
            })],
        };

        var session = await SessionAsync(forceRenew: false, cancellationToken);
        try
        {
            await _stripe.V2.Billing.MeterEventStream.CreateAsync(request, SessionAuthenticated(session), cancellationToken);
        }
        catch (StripeException e) when (e.HttpStatusCode == HttpStatusCode.Unauthorized)
        {
            // The session ended early (revoked, or our clock is behind Stripe's): one new session, one more try.
            LogSessionRefused(_logger, session.Id, e.StripeError?.Code);
            session = await SessionAsync(forceRenew: true, cancellationToken);
            await _stripe.V2.Billing.MeterEventStream.CreateAsync(request, SessionAuthenticated(session), cancellationToken);
        }
    }

    private async Task<BillingV2.MeterEventSession> SessionAsync(bool forceRenew, CancellationToken cancellationToken)
    {
        await _sessionGate.WaitAsync(cancellationToken);
        try
        {
            if (!forceRenew && _session is { } current && new DateTimeOffset(current.ExpiresAt, TimeSpan.Zero) - RenewBefore > _time.GetUtcNow())
            {
                return current;
            }

            // An empty options object: Stripe.net sends no body at all for none, and the endpoint takes a JSON object.
            _session = await _stripe.V2.Billing.MeterEventSession.CreateAsync(new BillingV2.MeterEventSessionCreateOptions(), null, cancellationToken);
            LogSessionCreated(_logger, _session.Id, _session.ExpiresAt);
            return _session;
        }
        finally
        {
            _sessionGate.Release();
        }
    }

    private static RequestOptions SessionAuthenticated(BillingV2.MeterEventSession session) => new() { ApiKey = session.AuthenticationToken };

    private static Dictionary<string, string> Payload(MeterUsage usage) => new(StringComparer.Ordinal)
    {
        ["stripe_customer_id"] = usage.CustomerId,
        ["value"] = usage.Value.ToString(CultureInfo.InvariantCulture),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Meter event {Identifier} was already recorded by Stripe (request {RequestId})")]
    private static partial void LogAlreadyReported(ILogger logger, string identifier, string? requestId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Meter event session {SessionId} created, valid until {ExpiresAt:O}")]
    private static partial void LogSessionCreated(ILogger logger, string sessionId, DateTime expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Meter event session {SessionId} was refused ({Code}); creating a new one")]
    private static partial void LogSessionRefused(ILogger logger, string sessionId, string? code);
}
