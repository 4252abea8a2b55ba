using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.Lambda;

/// <summary>
/// The Lambda Runtime API (2018-06-01) as a function process sees it, on a free loopback port: invocations are queued
/// and served by <c>invocation/next</c> (a long poll), responses, invocation errors and init errors are recorded.
/// Point a process at it with <c>AWS_LAMBDA_RUNTIME_API=</c><see cref="HostAndPort"/>.
/// </summary>
public sealed class LambdaRuntimeApi : IAsyncDisposable
{
    public const string FunctionArn = "arn:aws:lambda:us-east-1:123456789012:function:monetization-test";

    private readonly Channel<PendingInvocation> _queue = Channel.CreateUnbounded<PendingInvocation>();
    private readonly ConcurrentDictionary<string, PendingInvocation> _inFlight = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<LambdaErrorReport> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _firstPoll = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private int _polls;

    private LambdaRuntimeApi(Uri endpoint) => Endpoint = endpoint;

    public Uri Endpoint { get; }

    /// <summary>The value of <c>AWS_LAMBDA_RUNTIME_API</c>.</summary>
    public string HostAndPort => $"{Endpoint.Host}:{Endpoint.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>How many times the function asked for its next invocation.</summary>
    public int Polls => Volatile.Read(ref _polls);

    /// <summary>Completes when the function reports a failed start-up to <c>/runtime/init/error</c>.</summary>
    public Task<LambdaErrorReport> InitError => _initError.Task;

    /// <summary>Completes when the function first asks for an invocation: its start-up is over.</summary>
    public Task FirstPoll => _firstPoll.Task;

    public static Task<LambdaRuntimeApi> StartAsync(CancellationToken cancellationToken = default) =>
        LoopbackServer.StartOnFreePortAsync(
            endpoint => new LambdaRuntimeApi(endpoint),
            (server, port, ct) => server.StartServerAsync(port, ct),
            cancellationToken);

    /// <summary>
    /// Queues one invocation and waits for the function's answer. <paramref name="timeout"/> sets the
    /// <c>Lambda-Runtime-Deadline-Ms</c> header, as the function's configured timeout does in Lambda.
    /// </summary>
    public async Task<LambdaInvocationResult> InvokeAsync(string payload, TimeSpan timeout, string? traceId = null, CancellationToken cancellationToken = default)
    {
        var invocation = new PendingInvocation(
            Guid.NewGuid().ToString(),
            Encoding.UTF8.GetBytes(payload),
            DateTimeOffset.UtcNow + timeout,
            traceId ?? $"Root=1-{DateTimeOffset.UtcNow.ToUnixTimeSeconds():x8}-{Guid.NewGuid().ToString("N")[..24]};Sampled=0");
        _inFlight[invocation.RequestId] = invocation;
        await _queue.Writer.WriteAsync(invocation, cancellationToken).ConfigureAwait(false);
        return await invocation.Result.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _queue.Writer.TryComplete();
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task StartServerAsync(int port, CancellationToken cancellationToken)
    {
        var app = LoopbackServer.CreateApp(port);
        _app = app;
        app.MapGet("/2018-06-01/runtime/invocation/next", NextAsync);
        app.MapPost("/2018-06-01/runtime/invocation/{id}/response", async (string id, HttpContext context) =>
            await CompleteAsync(id, context, isError: false).ConfigureAwait(false));
        app.MapPost("/2018-06-01/runtime/invocation/{id}/error", async (string id, HttpContext context) =>
            await CompleteAsync(id, context, isError: true).ConfigureAwait(false));
        app.MapPost("/2018-06-01/runtime/init/error", async (HttpContext context) =>
        {
            var report = await ReadErrorAsync(context).ConfigureAwait(false);
            if (report is null)
            {
                return Results.BadRequest();
            }

            _initError.TrySetResult(report);
            return Results.Accepted();
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task NextAsync(HttpContext context)
    {
        Interlocked.Increment(ref _polls);
        _firstPoll.TrySetResult();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        PendingInvocation invocation;
        try
        {
            invocation = await _queue.Reader.ReadAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
        {
            context.Abort();
            return;
        }

        var headers = context.Response.Headers;
        headers["Lambda-Runtime-Aws-Request-Id"] = invocation.RequestId;
        headers["Lambda-Runtime-Deadline-Ms"] = invocation.Deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        headers["Lambda-Runtime-Invoked-Function-Arn"] = FunctionArn;
        headers["Lambda-Runtime-Trace-Id"] = invocation.TraceId;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(invocation.Payload, context.RequestAborted).ConfigureAwait(false);
    }

    private async Task<IResult> CompleteAsync(string id, HttpContext context, bool isError)
    {
        if (!_inFlight.TryRemove(id, out var invocation))
        {
            // What the Runtime API answers for an unknown or already answered request id.
            return Results.Json(new Dictionary<string, string> { ["errorMessage"] = $"Invalid request ID: {id}", ["errorType"] = "InvalidRequestID" }, statusCode: StatusCodes.Status400BadRequest);
        }

        if (isError)
        {
            var report = await ReadErrorAsync(context).ConfigureAwait(false);
            if (report is null)
            {
                return Results.BadRequest();
            }

            invocation.Result.TrySetResult(new LambdaInvocationResult(id, null, report));
        }
        else
        {
            using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
            invocation.Result.TrySetResult(new LambdaInvocationResult(id, await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false), null));
        }

        return Results.Accepted();
    }

    /// <summary>The documented error body; anything else is refused, so a function that sends another shape fails its test.</summary>
    private static async Task<LambdaErrorReport?> ReadErrorAsync(HttpContext context)
    {
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("errorMessage", out var message) || message.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("errorType", out var type) || type.ValueKind != JsonValueKind.String
                || (root.TryGetProperty("stackTrace", out var trace) && (trace.ValueKind != JsonValueKind.Array || trace.EnumerateArray().Any(f => f.ValueKind != JsonValueKind.String))))
            {
                return null;
            }

            return new LambdaErrorReport(
                message.GetString()!,
                type.GetString()!,
                root.TryGetProperty("stackTrace", out var frames) ? [.. frames.EnumerateArray().Select(f => f.GetString()!)] : [],
                context.Request.Headers["Lambda-Runtime-Function-Error-Type"].ToString());
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private sealed record PendingInvocation(string RequestId, byte[] Payload, DateTimeOffset Deadline, string TraceId)
    {
        public TaskCompletionSource<LambdaInvocationResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>What the function answered for one invocation: a response body or an error.</summary>
public sealed record LambdaInvocationResult(string RequestId, string? Response, LambdaErrorReport? Error);

/// <summary>An error the function posted, with its <c>Lambda-Runtime-Function-Error-Type</c> header.</summary>
public sealed record LambdaErrorReport(string ErrorMessage, string ErrorType, IReadOnlyList<string> StackTrace, string ErrorTypeHeader);
