using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Monetization.Http;

namespace Monetization.Lambda;

/// <summary>
/// Hosts an event function in the managed runtime as an executable assembly (<c>Handler: &lt;Assembly&gt;</c>, started
/// as <c>dotnet exec &lt;Assembly&gt;.dll</c>): builds and starts the function's host once, then serves invocation
/// after invocation from the Runtime API in the same warm process.
/// </summary>
public static partial class LambdaRuntime
{
    public const string TraceIdVariable = "_X_AMZN_TRACE_ID";

    /// <summary>
    /// How long before the deadline the invocation's token is cancelled: time to report the failure before Lambda
    /// stops the process.
    /// </summary>
    public static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Runs until the Runtime API goes away. <paramref name="build"/> builds the host, whose services must hold a
    /// <see cref="LambdaHandler"/>; starting it validates the options marked <c>ValidateOnStart</c>, once, before the
    /// first invocation. A failing start-up is reported to <c>/runtime/init/error</c> and the process exits non-zero.
    /// </summary>
    /// <returns>The process exit code.</returns>
    public static Task<int> RunAsync(Func<IHost> build, CancellationToken cancellationToken = default) =>
        RunAsync(Environment.GetEnvironmentVariable(RuntimeApiClient.RuntimeApiVariable), build, cancellationToken);

    /// <summary>As above, against the Runtime API at <paramref name="runtimeApi"/> (<c>host:port</c>).</summary>
    public static async Task<int> RunAsync(string? runtimeApi, Func<IHost> build, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(build);
        StartupTrace.Mark("main");
        if (string.IsNullOrWhiteSpace(runtimeApi))
        {
            await Console.Error.WriteLineAsync($"{RuntimeApiClient.RuntimeApiVariable} is not set: this program is started by AWS Lambda's managed runtime.").ConfigureAwait(false);
            return 2;
        }

        using var client = new RuntimeApiClient(runtimeApi);
        IHost host;
        LambdaHandler handler;
        try
        {
            host = build();
            StartupTrace.Mark("host-built");
            await host.StartAsync(cancellationToken).ConfigureAwait(false);
            StartupTrace.Mark("host-started");
            handler = host.Services.GetRequiredService<LambdaHandler>();
            StartupTrace.Mark("handler-resolved");
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            // Lambda records the init error and starts a fresh process for the next event: nothing is acknowledged.
            var errorType = IsConfigInvalid(e) ? "Runtime.ConfigInvalid" : "Runtime.InitError";
            await client.ReportInitErrorAsync(LambdaError.From(e), errorType, cancellationToken).ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"Init failed ({errorType}): {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using (host)
        {
            var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(LambdaRuntime).FullName!);
            var time = host.Services.GetService<TimeProvider>() ?? TimeProvider.System;

            // SIGTERM (Lambda's shutdown) stops the host, and with it the loop.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(
                cancellationToken, host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
            var code = await ServeAsync(client, handler, time, logger, stopping.Token).ConfigureAwait(false);
            await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return code;
        }
    }

    private static async Task<int> ServeAsync(RuntimeApiClient client, LambdaHandler handler, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        var first = true;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var (context, payload) = await client.NextAsync(cancellationToken).ConfigureAwait(false);
                if (first)
                {
                    StartupTrace.Mark("first-invocation-fetched");
                }

                await InvokeAsync(client, handler, context, payload, time, logger, cancellationToken).ConfigureAwait(false);
                if (first)
                {
                    StartupTrace.Mark("first-invocation-answered");
                    first = false;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
        catch (HttpRequestException e)
        {
            // The Runtime API is gone: Lambda is shutting the environment down, or this is not Lambda.
            LogRuntimeApiLost(logger, e.Message);
            return 1;
        }

        return 0;
    }

    /// <summary>A setting failed its check; settings of several sections failing together arrive as one aggregate.</summary>
    private static bool IsConfigInvalid(Exception e) => e switch
    {
        OptionsValidationException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(i => i is OptionsValidationException),
        _ => false,
    };

    private static async Task InvokeAsync(
        RuntimeApiClient client, LambdaHandler handler, InvocationContext context, byte[] payload, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        Environment.SetEnvironmentVariable(TraceIdVariable, context.TraceId);

        // Every line the function logs while this invocation runs carries its request and trace ids.
        using var scope = logger.BeginScope(new InvocationScope(context));
        var remaining = context.Deadline - time.GetUtcNow() - DeadlineMargin;
        using var deadline = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, time);
        using var invocation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        Stream output;
        try
        {
            // The payload is never logged: Marketplace events and tokens may be in it.
            output = await handler(new MemoryStream(payload, writable: false), context, invocation.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            var error = deadline.IsCancellationRequested && e is OperationCanceledException
                ? new LambdaError($"The invocation was stopped at its deadline ({context.Deadline:O}).", "DeadlineExceeded", LambdaError.From(e).StackTrace)
                : LambdaError.From(e);
            LogInvocationFailed(logger, context.RequestId, error.ErrorType);
            await client.ReportInvocationErrorAsync(context.RequestId, error, error.ErrorType, cancellationToken).ConfigureAwait(false);
            return;
        }

        await using (output.ConfigureAwait(false))
        {
            await client.RespondAsync(context.RequestId, output, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Invocation {RequestId} failed: {ErrorType}")]
    private static partial void LogInvocationFailed(ILogger logger, string requestId, string errorType);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The Lambda Runtime API cannot be reached: {Reason}")]
    private static partial void LogRuntimeApiLost(ILogger logger, string reason);
}
