using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Monetization.Emulators.Faults;

/// <summary>
/// A reverse proxy with fault and latency injection, for peers that cannot inject faults themselves (moto_server).
/// Requests are forwarded byte for byte with their original <c>Host</c> header, so signed requests still verify.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade", "Proxy-Connection",
    };

    private readonly Uri _target;
    private readonly Func<HttpRequest, CancellationToken, Task>? _observe;
    private readonly Func<HttpContext, Task<bool>>? _answer;
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
    private readonly CancellationTokenSource _stopping = new();
    private readonly System.Collections.Concurrent.ConcurrentQueue<ProxiedExchange> _exchanges = new();
    private WebApplication? _app;

    private FaultProxy(Uri target, Uri endpoint, Func<HttpRequest, CancellationToken, Task>? observe, Func<HttpContext, Task<bool>>? answer)
    {
        _target = target;
        _observe = observe;
        _answer = answer;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public FaultInjector Faults { get; } = new();

    /// <summary>
    /// Sees the forwarded requests it wants together with the target's answer, both bodies read, before the client
    /// gets the answer (so whatever it records is there once the client has its answer). Set before traffic starts.
    /// </summary>
    public ExchangeTap? Tap { get; set; }

    /// <summary>When set, every forwarded exchange is recorded in <see cref="Exchanges"/> (off by default: it only grows).</summary>
    public bool RecordExchanges { get; set; }

    /// <summary>What was forwarded while <see cref="RecordExchanges"/> was on, in order of completion.</summary>
    public IReadOnlyList<ProxiedExchange> Exchanges => [.. _exchanges];

    /// <summary>
    /// The exchanges once at least <paramref name="count"/> are recorded: an exchange is recorded when the proxy's
    /// pipeline finishes, which can be a moment after its client already read the whole answer.
    /// </summary>
    public async Task<IReadOnlyList<ProxiedExchange>> ExchangesAsync(int count, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(10);
        while (_exchanges.Count < count && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(5, cancellationToken).ConfigureAwait(false);
        }

        return Exchanges;
    }

    public static Task<FaultProxy> StartAsync(Uri target, CancellationToken cancellationToken = default) =>
        StartAsync(target, null, cancellationToken);

    /// <param name="observe">Sees each request, its body readable and rewound, before faults apply and it is forwarded.</param>
    public static Task<FaultProxy> StartAsync(Uri target, Func<HttpRequest, CancellationToken, Task>? observe, CancellationToken cancellationToken = default) =>
        LoopbackServer.StartOnFreePortAsync(
            endpoint => new FaultProxy(target, endpoint, observe, answer: null),
            (server, port, ct) => server.StartServerAsync(port, ct),
            cancellationToken);

    /// <param name="answer">
    /// Answers the requests the target cannot (returns <c>true</c> when it did); everything else is forwarded.
    /// </param>
    public static Task<FaultProxy> StartAnsweringAsync(Uri target, Func<HttpContext, Task<bool>> answer, CancellationToken cancellationToken = default) =>
        LoopbackServer.StartOnFreePortAsync(
            endpoint => new FaultProxy(target, endpoint, observe: null, answer),
            (server, port, ct) => server.StartServerAsync(port, ct),
            cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _http.Dispose();
        _stopping.Dispose();
    }

    private async Task StartServerAsync(int port, CancellationToken cancellationToken)
    {
        var app = LoopbackServer.CreateApp(port);
        _app = app;
        if (_observe is { } observe)
        {
            app.Use(async (context, next) =>
            {
                context.Request.EnableBuffering();
                await observe(context.Request, context.RequestAborted).ConfigureAwait(false);
                context.Request.Body.Position = 0;
                await next(context).ConfigureAwait(false);
            });
        }

        app.Use(async (context, next) =>
        {
            // Measured around the faults too, so an injected delay counts as part of the round trip it slows down.
            var started = TimeProvider.System.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                if (RecordExchanges)
                {
                    _exchanges.Enqueue(new ProxiedExchange(
                        context.Request.Method,
                        context.Request.Path.Value ?? "/",
                        context.Request.Headers["X-Amz-Target"].ToString() is { Length: > 0 } target ? target : null,
                        context.Response.StatusCode,
                        started,
                        TimeProvider.System.GetTimestamp()));
                }
            }
        });
        app.UseFaults(Faults, rule => $$"""{"message":"Injected fault {{rule.Status ?? 500}}"}""", _stopping.Token);
        app.Run(ForwardAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task ForwardAsync(HttpContext context)
    {
        if (_answer is not null && await _answer(context).ConfigureAwait(false))
        {
            return;
        }

        var request = context.Request;
        var tap = Tap is { } wanted && wanted.Wants(request) ? wanted : null;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_target, request.Path + request.QueryString));
        byte[]? requestBody = null;
        if (tap is not null)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, context.RequestAborted).ConfigureAwait(false);
            requestBody = buffer.ToArray();
            forward.Content = new ByteArrayContent(requestBody);
        }
        else if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            forward.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name))
            {
                continue;
            }

            if (!forward.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                forward.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        using var response = await _http.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHop.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        if (tap is null)
        {
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            return;
        }

        var answer = await response.Content.ReadAsByteArrayAsync(context.RequestAborted).ConfigureAwait(false);
        await tap.Answered(
            new TappedExchange(request.Method, request.Path.Value ?? "/", requestBody ?? [], (int)response.StatusCode, answer),
            context.RequestAborted).ConfigureAwait(false);
        await context.Response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
    }
}

/// <summary>Which forwarded requests a <see cref="FaultProxy.Tap"/> sees, and what it does with each answered one.</summary>
public sealed record ExchangeTap(Func<HttpRequest, bool> Wants, Func<TappedExchange, CancellationToken, Task> Answered);

/// <summary>One forwarded request and the target's answer, bodies as sent (not seen when a fault answered instead).</summary>
public sealed record TappedExchange(string Method, string Path, byte[] RequestBody, int Status, byte[] ResponseBody);

/// <summary>One forwarded request; <see cref="Started"/> and <see cref="Ended"/> are <see cref="TimeProvider.GetTimestamp"/> values.</summary>
/// <param name="Target">The <c>X-Amz-Target</c> header (the operation of a JSON-protocol AWS call such as DynamoDB's), if any.</param>
public sealed record ProxiedExchange(string Method, string Path, string? Target, int Status, long Started, long Ended);
