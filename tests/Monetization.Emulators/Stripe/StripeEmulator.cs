using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monetization.Emulators.Faults;

namespace Monetization.Emulators.Stripe;

/// <summary>
/// A local, stateful Stripe for the subset of the v1 API this project uses: a real HTTP server on a free loopback
/// port that checks the secret key, refuses unknown parameters, keeps idempotency keys for 24 hours, signs webhook
/// deliveries and injects faults on request. The control API is described in README.md.
/// </summary>
public sealed partial class StripeEmulator : IAsyncDisposable
{
    private const string ControlPrefix = "/_emulator";
    private static readonly TimeSpan IdempotencyRetention = TimeSpan.FromHours(24);
    private static readonly string[] SubscriptionStatuses = ["active", "trialing", "past_due", "unpaid", "paused", "canceled", "incomplete", "incomplete_expired"];

    private readonly StripeEmulatorOptions _options;
    private readonly StripeApi _api = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _keyLocks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StoredResponse> _stored = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HttpClient _webhookClient = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ConcurrentDictionary<string, (long Sequence, EmulatedEvent Event)> _events = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<WebhookDelivery> _deliveries = new();
    private readonly ConcurrentDictionary<Task, bool> _background = new();
    private readonly Lock _deliveryOrder = new();
    private Task _deliveryTail = Task.CompletedTask;
    private long _eventSequence;
    private WebApplication? _app;
    private Uri? _webhookUrl;

    private StripeEmulator(StripeEmulatorOptions options, Uri endpoint)
    {
        _options = options;
        _webhookUrl = options.WebhookUrl;
        Endpoint = endpoint;
        _api.HostedPageBase = endpoint;
    }

    public Uri Endpoint { get; }

    public string SecretKey => _options.SecretKey;

    public string WebhookSecret => _options.WebhookSecret;

    public FaultInjector Faults { get; } = new();

    public Uri? WebhookUrl
    {
        get => Volatile.Read(ref _webhookUrl);
        set => Volatile.Write(ref _webhookUrl, value);
    }

    public IReadOnlyList<EmulatedCustomer> Customers => _api.Customers;

    public IReadOnlyList<EmulatedProduct> Products => _api.Products;

    public IReadOnlyList<EmulatedMeter> Meters => _api.Meters;

    public IReadOnlyList<EmulatedPrice> Prices => _api.Prices;

    public IReadOnlyList<EmulatedSubscription> Subscriptions => _api.Subscriptions;

    public IReadOnlyList<EmulatedMeterEvent> MeterEvents => _api.MeterEvents;

    public IReadOnlyList<EmulatedCheckoutSession> CheckoutSessions => _api.CheckoutSessions;

    /// <summary>Billing portal sessions, oldest first.</summary>
    public IReadOnlyList<EmulatedBillingPortalSession> BillingPortalSessions => _api.BillingPortalSessions;

    /// <summary>Subscription invoices and one-off ones (<c>POST /v1/invoices</c>), oldest first.</summary>
    public IReadOnlyList<EmulatedInvoice> Invoices => _api.Invoices;

    /// <summary>Invoice items, oldest first; <see cref="EmulatedInvoiceItem.InvoiceId"/> is null while one is pending.</summary>
    public IReadOnlyList<EmulatedInvoiceItem> InvoiceItems => _api.InvoiceItems;

    /// <summary>The webhook endpoints created through the API (configuration only: deliveries go to <see cref="WebhookUrl"/>).</summary>
    public IReadOnlyList<EmulatedWebhookEndpoint> WebhookEndpoints => _api.WebhookEndpoints;

    /// <summary>Every event the account emitted, oldest first, delivered or not.</summary>
    public IReadOnlyList<EmulatedEvent> Events => [.. _events.Values.OrderBy(e => e.Sequence).Select(e => e.Event)];

    /// <summary>Every webhook POST made, in the order they were answered.</summary>
    public IReadOnlyList<WebhookDelivery> Deliveries => [.. _deliveries];

    /// <summary>Every API request received, in arrival order (faulted ones included), without credentials.</summary>
    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    public static async Task<StripeEmulator> StartAsync(StripeEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new StripeEmulatorOptions();
        if (!options.SecretKey.StartsWith("sk_test_", StringComparison.Ordinal))
        {
            throw new ArgumentException("The emulator only plays test mode: SecretKey must start with sk_test_.", nameof(options));
        }

        return await LoopbackServer.StartOnFreePortAsync(
            endpoint => new StripeEmulator(options, endpoint),
            (server, port, ct) => server.StartServerAsync(port, ct),
            cancellationToken);
    }

    public void InjectFault(FaultRule rule) => Faults.Add(rule);

    public void ClearFaults() => Faults.Clear();

    /// <summary>
    /// Moves a subscription to <paramref name="status"/> as Stripe's billing would, and, when a webhook URL is set,
    /// delivers the matching signed event (<c>customer.subscription.deleted</c> for canceled, otherwise
    /// <c>customer.subscription.updated</c>).
    /// </summary>
    /// <returns>The delivery, or <c>null</c> when no webhook URL is set.</returns>
    /// <exception cref="InvalidOperationException">
    /// The subscription is <c>canceled</c> or <c>incomplete_expired</c> and <paramref name="status"/> is another status:
    /// Stripe never reactivates an ended subscription, so nothing changes and nothing is delivered. Setting the ended
    /// status it already has changes nothing but still delivers a new event about it, as for any status set twice.
    /// </exception>
    public async Task<WebhookDelivery?> SetSubscriptionStatusAsync(string subscriptionId, string status, CancellationToken cancellationToken = default)
    {
        if (!SubscriptionStatuses.Contains(status, StringComparer.Ordinal))
        {
            throw new ArgumentException($"status must be one of {string.Join(", ", SubscriptionStatuses)}.", nameof(status));
        }

        var (before, _, json) = Apply(subscriptionId, status);
        if (WebhookUrl is null)
        {
            return null;
        }

        var type = status == "canceled" ? "customer.subscription.deleted" : "customer.subscription.updated";
        var previous = before.Status == status ? null : new JsonObject { ["status"] = before.Status };
        return await DeliverAsync(type, json, previous, cancellationToken);
    }

    /// <summary>Delivers a signed event about the subscription as it is now (for replays and out-of-order tests).</summary>
    public Task<WebhookDelivery> SendSubscriptionEventAsync(string subscriptionId, string type, CancellationToken cancellationToken = default)
    {
        JsonObject json;
        try
        {
            json = _api.SubscriptionJson(subscriptionId);
        }
        catch (StripeApiException e)
        {
            throw new ArgumentException(e.Message, nameof(subscriptionId), e);
        }

        return DeliverAsync(type, json, null, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        await Task.WhenAll(_background.Keys).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _webhookClient.Dispose();
        _stopping.Dispose();
        foreach (var semaphore in _keyLocks.Values)
        {
            semaphore.Dispose();
        }
    }

    private (EmulatedSubscription Before, EmulatedSubscription After, JsonObject Json) Apply(string subscriptionId, string status)
    {
        try
        {
            return _api.SetSubscriptionStatus(subscriptionId, status, Now);
        }
        catch (StripeApiException e)
        {
            throw new ArgumentException(e.Message, nameof(subscriptionId), e);
        }
    }

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();

    private Task<WebhookDelivery> DeliverAsync(string type, JsonObject obj, JsonObject? previousAttributes, CancellationToken cancellationToken) =>
        PostAsync(Record(type, obj, previousAttributes), cancellationToken);

    /// <summary>Keeps the event as Stripe does (it can be delivered again later) and returns it.</summary>
    private EmulatedEvent Record(string type, JsonObject obj, JsonObject? previousAttributes)
    {
        var now = Now;
        var eventId = StripeApi.NewId("evt_", 24);
        var payload = StripeJson.Event(eventId, type, now.ToUnixTimeSeconds(), _options.ApiVersion, obj, previousAttributes).ToJsonString();
        var recorded = new EmulatedEvent(eventId, type, now.ToUnixTimeSeconds(), payload);
        _events[eventId] = (Interlocked.Increment(ref _eventSequence), recorded);
        return recorded;
    }

    /// <summary>Signs the event with the current time, as each of Stripe's delivery attempts is.</summary>
    private async Task<WebhookDelivery> PostAsync(EmulatedEvent recorded, CancellationToken cancellationToken)
    {
        var url = WebhookUrl ?? throw new InvalidOperationException("No webhook URL is set on the emulator.");
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(recorded.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", StripeWebhookSignature.Compute(_options.WebhookSecret, recorded.Payload, Now));
        request.Headers.TryAddWithoutValidation("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)");
        using var response = await _webhookClient.SendAsync(request, cancellationToken);
        var delivery = new WebhookDelivery(recorded.Id, recorded.Type, (int)response.StatusCode, recorded.Payload);
        _deliveries.Enqueue(delivery);
        return delivery;
    }

    /// <summary>Records what the last operations emitted and, with a webhook URL set, delivers it in order, in the background, as Stripe does.</summary>
    private void DeliverEmitted()
    {
        var (_, delivering) = RecordAndQueueEmitted(deliver: true, background: true, _stopping.Token);
        _background[delivering] = true;
        delivering.ContinueWith(t => _background.TryRemove(t, out _), TaskScheduler.Default);
    }

    /// <summary>
    /// Records what the last operations emitted and queues its delivery behind every delivery queued before, so the
    /// events of one operation after another reach the endpoint in the order they happened (two background tasks
    /// would otherwise race). In the background an endpoint that cannot be reached is recorded as status 0;
    /// otherwise its failure is the caller's.
    /// </summary>
    private (IReadOnlyList<EmulatedEvent> Events, Task<IReadOnlyList<WebhookDelivery>> Delivering) RecordAndQueueEmitted(bool deliver, bool background, CancellationToken cancellationToken)
    {
        lock (_deliveryOrder)
        {
            var events = _api.TakeEmitted().Select(e => Record(e.Type, e.Object, e.PreviousAttributes)).ToList();
            if (!deliver || events.Count == 0 || WebhookUrl is null)
            {
                return (events, Task.FromResult<IReadOnlyList<WebhookDelivery>>([]));
            }

            var previous = _deliveryTail;
            var delivering = Task.Run(async () =>
            {
                await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                var deliveries = new List<WebhookDelivery>();
                foreach (var recorded in events)
                {
                    try
                    {
                        deliveries.Add(await PostAsync(recorded, cancellationToken));
                    }
                    catch (Exception e) when (background && e is HttpRequestException or OperationCanceledException or InvalidOperationException)
                    {
                        // An endpoint that cannot be reached gets nothing, like Stripe's first attempt; tests redeliver by hand.
                        _deliveries.Enqueue(new WebhookDelivery(recorded.Id, recorded.Type, 0, recorded.Payload));
                    }
                }

                return (IReadOnlyList<WebhookDelivery>)deliveries;
            }, CancellationToken.None);
            _deliveryTail = delivering;
            return (events, delivering);
        }
    }

    /// <summary>Delivers a stored event (again): a retry, a duplicate, or the next step of an out-of-order test.</summary>
    public Task<WebhookDelivery> DeliverEventAsync(string eventId, CancellationToken cancellationToken = default) =>
        _events.TryGetValue(eventId, out var stored)
            ? PostAsync(stored.Event, cancellationToken)
            : throw new ArgumentException($"No event {eventId}.", nameof(eventId));

    /// <summary>
    /// Pays the session as the hosted page does. With <paramref name="deliver"/> and a webhook URL the events it emits
    /// (<c>customer.subscription.created</c>, <c>invoice.created</c>, <c>invoice.finalized</c>, <c>invoice.paid</c>,
    /// <c>checkout.session.completed</c>) are delivered in that order before this returns; otherwise they are only
    /// recorded, for <see cref="DeliverEventAsync"/>.
    /// </summary>
    public async Task<(EmulatedCheckoutSession Session, IReadOnlyList<EmulatedEvent> Events, IReadOnlyList<WebhookDelivery> Deliveries)> CompleteCheckoutAsync(
        string sessionId, bool deliver = true, CancellationToken cancellationToken = default)
    {
        EmulatedCheckoutSession session;
        try
        {
            session = _api.CompleteCheckout(sessionId, Now);
        }
        catch (StripeApiException e)
        {
            throw new ArgumentException(e.Message, nameof(sessionId), e);
        }

        var (events, deliveries) = await DeliverEmittedNowAsync(deliver, cancellationToken);
        return (session, events, deliveries);
    }

    /// <summary>
    /// Records what the last operation emitted and, with <paramref name="deliver"/> and a webhook URL, delivers it in
    /// order before returning, as Stripe has delivered a hosted page's events by the time the page moves on.
    /// </summary>
    private async Task<(IReadOnlyList<EmulatedEvent> Events, IReadOnlyList<WebhookDelivery> Deliveries)> DeliverEmittedNowAsync(bool deliver, CancellationToken cancellationToken)
    {
        var (events, delivering) = RecordAndQueueEmitted(deliver, background: false, cancellationToken);
        return (events, await delivering);
    }

    private async Task StartServerAsync(int port, CancellationToken cancellationToken)
    {
        var app = LoopbackServer.CreateApp(port, decodeHeadersAsLatin1: true);
        _app = app;
        app.Use(async (context, next) =>
        {
            context.Response.Headers["Request-Id"] = StripeApi.NewId("req_");
            if (!context.Request.Path.StartsWithSegments(ControlPrefix))
            {
                _requests.Enqueue(new RecordedRequest(
                    context.Request.Method,
                    context.Request.Path.Value ?? "/",
                    Header(context, "Idempotency-Key"),
                    Header(context, "Stripe-Version")));
            }

            await next(context);
        });
        app.UseFaults(Faults, FaultBody, _stopping.Token, ControlPrefix);
        app.Run(context => context.Request.Path.StartsWithSegments(ControlPrefix) ? HandleControlAsync(context) : HandleApiAsync(context));
        await app.StartAsync(cancellationToken);
    }

    private static string FaultBody(FaultRule rule) =>
        StripeApiException.ErrorBody(
            rule.Status is 429 ? "invalid_request_error" : "api_error",
            rule.Status is 429
                ? "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."
                : "An unknown error occurred",
            rule.Status is 429 ? "rate_limit" : null).ToJsonString();

    private async Task HandleApiAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Path.StartsWithSegments("/v2"))
        {
            await HandleV2Async(context);
            return;
        }

        if (Authenticate(request) is { } denied)
        {
            await WriteAsync(context, denied);
            return;
        }

        if (Header(context, "Stripe-Version") is { } version && !ApiVersionPattern().IsMatch(version))
        {
            await WriteAsync(context, Error(new StripeApiException(400, "invalid_request_error", $"Invalid Stripe API version: {version}", "api_version_invalid")));
            return;
        }

        StripeParams parameters;
        try
        {
            parameters = await ReadParametersAsync(request);
        }
        catch (StripeApiException e)
        {
            await WriteAsync(context, Error(e));
            return;
        }

        var method = request.Method.ToUpperInvariant();
        var path = request.Path.Value ?? "/";
        var idempotencyKey = Header(context, "Idempotency-Key");
        if (!HttpMethods.IsPost(method) || idempotencyKey is null)
        {
            // Stripe ignores idempotency keys on GET and DELETE.
            var fault = Faults.Take(method, path, FaultPhase.After);
            if (await FaultMiddleware.ApplyAsync(context, fault, FaultBody, _stopping.Token))
            {
                return;
            }

            await WriteAsync(context, Execute(method, path, parameters));
            return;
        }

        if (idempotencyKey.Length > 255)
        {
            await WriteAsync(context, Error(new StripeApiException(400, "invalid_request_error", "Idempotency-Key must be at most 255 characters long.", param: "Idempotency-Key")));
            return;
        }

        if (idempotencyKey.Any(c => c is < ' ' or > '~'))
        {
            await WriteAsync(context, Error(new StripeApiException(400, "invalid_request_error", "Idempotency-Key must contain only printable ASCII characters.", param: "Idempotency-Key")));
            return;
        }

        await HandleIdempotentAsync(context, method, path, idempotencyKey, parameters);
    }

    /// <summary>
    /// One request at a time per key: a concurrent duplicate waits, then replays what the first one stored, so the
    /// operation never runs twice.
    /// </summary>
    private async Task HandleIdempotentAsync(HttpContext context, string method, string path, string key, StripeParams parameters)
    {
        var fingerprint = $"{method} {path}?{parameters.Fingerprint}";
        var gate = _keyLocks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        ApiOutcome outcome;
        FaultRule? lostResponse = null;
        await gate.WaitAsync(context.RequestAborted);
        try
        {
            var now = Now;
            if (_stored.TryGetValue(key, out var stored) && stored.ExpiresAt > now)
            {
                outcome = stored.Fingerprint == fingerprint
                    ? stored.Outcome with { Headers = With(stored.Outcome.Headers, "Idempotent-Replayed", "true") }
                    : Error(new StripeApiException(
                        400,
                        "idempotency_error",
                        $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."));
            }
            else
            {
                var decision = Faults.Take(method, path, FaultPhase.After);
                if (decision.Delay > TimeSpan.Zero)
                {
                    await Task.Delay(decision.Delay, context.RequestAborted);
                }

                if (decision.Fault is { Kind: FaultKind.Status } failure)
                {
                    // The API began and failed: Stripe stores such a result (even a 500) under the key.
                    outcome = new ApiOutcome(failure.Status ?? 500, failure.Body ?? FaultBody(failure), failure.Headers ?? new Dictionary<string, string>(), true);
                }
                else
                {
                    outcome = Execute(method, path, parameters);
                    lostResponse = decision.Fault;
                }

                outcome = outcome with
                {
                    Headers = With(
                        With(outcome.Headers, "Idempotency-Key", key),
                        "Original-Request",
                        context.Response.Headers["Request-Id"].ToString()),
                };
                if (outcome.Remembered)
                {
                    _stored[key] = new StoredResponse(fingerprint, outcome, now + IdempotencyRetention);
                }
            }
        }
        finally
        {
            gate.Release();
        }

        if (lostResponse is not null)
        {
            // Executed and stored, but the answer never reaches the client.
            await FaultMiddleware.ApplyAsync(context, new FaultDecision(TimeSpan.Zero, lostResponse), FaultBody, _stopping.Token);
            return;
        }

        await WriteAsync(context, outcome);
    }

    private ApiOutcome Execute(string method, string path, StripeParams parameters)
    {
        try
        {
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var body = _api.Dispatch(method, segments, parameters, Now);
            DeliverEmitted();
            return body is null
                ? Error(new StripeApiException(
                    404,
                    "invalid_request_error",
                    $"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                    remembered: false))
                : new ApiOutcome(200, body.ToJsonString(), new Dictionary<string, string>(), true);
        }
        catch (StripeApiException e)
        {
            return Error(e);
        }
    }

    private StripeApiException? AuthenticateCore(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            return new StripeApiException(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').");
        }

        const string scheme = "Bearer ";
        var presented = header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) ? header[scheme.Length..].Trim() : null;
        if (presented is null || !string.Equals(presented, _options.SecretKey, StringComparison.Ordinal))
        {
            // Never echo the presented key: only its mode prefix.
            var shown = presented is null ? "(not a Bearer credential)" : presented.StartsWith("sk_test_", StringComparison.Ordinal) ? "sk_test_****" : "****";
            return new StripeApiException(401, "invalid_request_error", $"Invalid API Key provided: {shown}", "api_key_invalid");
        }

        return null;
    }

    private ApiOutcome? Authenticate(HttpRequest request) =>
        AuthenticateCore(request) is { } error
            ? Error(error) with { Headers = new Dictionary<string, string> { ["WWW-Authenticate"] = "Bearer realm=\"Stripe\"" } }
            : null;

    private static async Task<StripeParams> ReadParametersAsync(HttpRequest request)
    {
        var pairs = request.Query.Select(q => new KeyValuePair<string, string>(q.Key, q.Value.ToString())).ToList();
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            pairs.AddRange(form.Select(f => new KeyValuePair<string, string>(f.Key, f.Value.ToString())));
        }
        else if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            throw new StripeApiException(
                400,
                "invalid_request_error",
                "Invalid request: the body must be application/x-www-form-urlencoded.",
                remembered: false);
        }

        return new StripeParams(pairs);
    }

    private static ApiOutcome Error(StripeApiException e) => new(e.Status, e.ToBody().ToJsonString(), e.Headers, e.Remembered);

    private static async Task WriteAsync(HttpContext context, ApiOutcome outcome)
    {
        context.Response.StatusCode = outcome.Status;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in outcome.Headers)
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(outcome.Body, Encoding.UTF8, context.RequestAborted);
    }

    private static string? Header(HttpContext context, string name) =>
        context.Request.Headers.TryGetValue(name, out var value) && value.Count > 0 ? value.ToString() : null;

    private static Dictionary<string, string> With(IReadOnlyDictionary<string, string> headers, string name, string value) =>
        new(headers, StringComparer.OrdinalIgnoreCase) { [name] = value };

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")]
    private static partial Regex ApiVersionPattern();

    private sealed record ApiOutcome(int Status, string Body, IReadOnlyDictionary<string, string> Headers, bool Remembered);

    private sealed record StoredResponse(string Fingerprint, ApiOutcome Outcome, DateTimeOffset ExpiresAt);

    internal static readonly JsonSerializerOptions ControlJson = new(JsonSerializerDefaults.Web);
}
