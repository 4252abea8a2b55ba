using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Monetization.Lambda;

/// <summary>
/// Hosts an event function in the managed runtime as an executable assembly (<c>Handler: &lt;Assembly&gt;</c>, started
/// as <c>dotnet exec &lt;Assembly&gt;.dll</c>): builds the function's container once, then serves invocation after
/// invocation from the Runtime API in the same warm process.
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
    /// Runs until the Runtime API goes away. <paramref name="initialize"/> builds the container, which must hold a
    /// <see cref="LambdaHandler"/>; options marked <c>ValidateOnStart</c> are validated before the first invocation.
    /// A failing start-up is reported to <c>/runtime/init/error</c> and the process exits non-zero.
    /// </summary>
    /// <returns>The process exit code.</returns>
    public static Task<int> RunAsync(Func<IServiceProvider> initialize, CancellationToken cancellationToken = default) =>
        RunAsync(Environment.GetEnvironmentVariable(RuntimeApiClient.RuntimeApiVariable), initialize, cancellationToken);

    /// <summary>As above, against the Runtime API at <paramref name="runtimeApi"/> (<c>host:port</c>).</summary>
    public static async Task<int> RunAsync(string? runtimeApi, Func<IServiceProvider> initialize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(initialize);
        if (string.IsNullOrWhiteSpace(runtimeApi))
        {
            await Console.Error.WriteLineAsync($"{RuntimeApiClient.RuntimeApiVariable} is not set: this program is started by AWS Lambda's managed runtime.").ConfigureAwait(false);
            return 2;
        }

        using var client = new RuntimeApiClient(runtimeApi);
        IServiceProvider services;
        LambdaHandler handler;
        try
        {
            services = initialize();
            services.GetService<IStartupValidator>()?.Validate();
            handler = services.GetRequiredService<LambdaHandler>();
        }
        catch (Exception e)
        {
            // Lambda records the init error and starts a fresh process for the next event: nothing is acknowledged.
            var errorType = IsConfigInvalid(e) ? "Runtime.ConfigInvalid" : "Runtime.InitError";
            await client.ReportInitErrorAsync(LambdaError.From(e), errorType, cancellationToken).ConfigureAwait(false);
            await Console.Error.WriteLineAsync($"Init failed ({errorType}): {e.Message}").ConfigureAwait(false);
            return 1;
        }

        var logger = services.GetService<ILoggerFactory>()?.CreateLogger(typeof(LambdaRuntime).FullName!) ?? NullLogger.Instance;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var (context, payload) = await client.NextAsync(cancellationToken).ConfigureAwait(false);
                await InvokeAsync(client, handler, context, payload, time, logger, cancellationToken).ConfigureAwait(false);
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
