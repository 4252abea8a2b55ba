using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.Faults;

/// <summary>
/// Fault injection for any emulator built on ASP.NET Core: the control API under <c>{controlPrefix}/faults</c> and the
/// middleware that applies <see cref="FaultPhase.Before"/> rules to every other request.
/// </summary>
public static class FaultMiddleware
{
    /// <summary>Long enough that any sensible client timeout fires first.</summary>
    public static readonly TimeSpan DefaultTimeoutHold = TimeSpan.FromMinutes(2);

    internal static readonly JsonSerializerOptions ControlJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <param name="defaultBody">The body a status fault gets when its rule has none (an emulator speaks its API's error shape).</param>
    /// <param name="stopping">Ends held requests when the emulator shuts down.</param>
    public static IApplicationBuilder UseFaults(
        this IApplicationBuilder app,
        FaultInjector injector,
        Func<FaultRule, string> defaultBody,
        CancellationToken stopping,
        string controlPrefix = "/_emulator")
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(injector);
        ArgumentNullException.ThrowIfNull(defaultBody);
        var faultsPath = new PathString(controlPrefix + "/faults");
        var controlRoot = new PathString(controlPrefix);
        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(faultsPath))
            {
                await HandleControlAsync(context, injector);
                return;
            }

            if (context.Request.Path.StartsWithSegments(controlRoot))
            {
                await next(context);
                return;
            }

            var decision = injector.Take(context.Request.Method, context.Request.Path.Value ?? "/", FaultPhase.Before);
            if (!await ApplyAsync(context, decision, defaultBody, stopping))
            {
                await next(context);
            }
        });
    }

    /// <returns><c>true</c> when the fault answered (or dropped) the request, so the API must not handle it.</returns>
    public static async Task<bool> ApplyAsync(HttpContext context, FaultDecision decision, Func<FaultRule, string> defaultBody, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(decision);
        ArgumentNullException.ThrowIfNull(defaultBody);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        try
        {
            if (decision.Delay > TimeSpan.Zero)
            {
                await Task.Delay(decision.Delay, linked.Token);
            }

            switch (decision.Fault)
            {
                case null:
                    return false;
                case { Kind: FaultKind.Reset }:
                    context.Abort();
                    return true;
                case { Kind: FaultKind.Timeout } rule:
                    await Task.Delay(rule.DelayMs is { } ms ? TimeSpan.FromMilliseconds(ms) : DefaultTimeoutHold, linked.Token);
                    context.Response.StatusCode = StatusCodes.Status504GatewayTimeout;
                    return true;
                case { } rule:
                    if (rule.DelayMs is { } wait and > 0)
                    {
                        await Task.Delay(wait, linked.Token);
                    }

                    await WriteStatusAsync(context, rule, defaultBody(rule), linked.Token);
                    return true;
            }
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            // The client gave up (the point of a timeout fault) or the emulator is stopping.
            context.Abort();
            return true;
        }
    }

    public static async Task WriteStatusAsync(HttpContext context, FaultRule rule, string body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        context.Response.StatusCode = rule.Status ?? StatusCodes.Status500InternalServerError;
        context.Response.ContentType = "application/json";
        foreach (var (name, value) in rule.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(rule.Body ?? body, Encoding.UTF8, cancellationToken);
    }

    private static async Task HandleControlAsync(HttpContext context, FaultInjector injector)
    {
        var method = context.Request.Method;
        if (HttpMethods.IsDelete(method))
        {
            injector.Clear();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        if (HttpMethods.IsGet(method))
        {
            await context.Response.WriteAsJsonAsync(injector.Active, ControlJson, context.RequestAborted);
            return;
        }

        if (!HttpMethods.IsPost(method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return;
        }

        try
        {
            var rule = await JsonSerializer.DeserializeAsync<FaultRule>(context.Request.Body, ControlJson, context.RequestAborted)
                ?? throw new ArgumentException("body must be a fault rule.");
            injector.Add(rule);
            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsJsonAsync(rule, ControlJson, context.RequestAborted);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = e.Message }, ControlJson, context.RequestAborted);
        }
    }
}
