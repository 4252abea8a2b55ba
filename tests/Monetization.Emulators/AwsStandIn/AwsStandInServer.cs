using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Monetization.Emulators.AwsStandIn;

/// <summary>
/// A loopback HTTP server that plays an AWS service moto does not emulate (API Gateway usage, Marketplace Metering).
/// Every request is recorded; each answer comes from the test's script, so tests can check the request shape and
/// serve exactly the answers (including errors) the real service documents.
/// </summary>
public sealed class AwsStandInServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<StandInRequest> _requests = new();
    private readonly Func<StandInRequest, StandInResponse> _respond;

    private AwsStandInServer(Func<StandInRequest, StandInResponse> respond, int port)
    {
        _respond = respond;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        _app = builder.Build();
        _app.Run(HandleAsync);
        Endpoint = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
    }

    public Uri Endpoint { get; }

    public IReadOnlyList<StandInRequest> Requests => [.. _requests];

    public static async Task<AwsStandInServer> StartAsync(Func<StandInRequest, StandInResponse> respond, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(respond);
        return await LoopbackServer.StartOnFreePortAsync(
            endpoint => new AwsStandInServer(respond, endpoint.Port),
            (server, _, ct) => server._app.StartAsync(ct),
            cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        var request = new StandInRequest(
            context.Request.Method,
            context.Request.Path.Value ?? "/",
            context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty,
            context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal),
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            body);
        _requests.Enqueue(request);

        StandInResponse response;
        try
        {
            response = _respond(request);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or KeyNotFoundException)
        {
            // A script that cannot answer is a broken test; say so in a way no client mistakes for a retryable fault.
            response = new StandInResponse(418, $"{{\"__type\":\"StandInScriptError\",\"message\":\"{e.Message.Replace("\"", "'", StringComparison.Ordinal)}\"}}");
        }

        context.Response.StatusCode = response.Status;
        context.Response.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.WriteAsync(response.Body, context.RequestAborted);
    }
}

public sealed record StandInRequest(
    string Method,
    string Path,
    string RawTarget,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers,
    string Body)
{
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    public string? QueryValue(string name) => Query.TryGetValue(name, out var value) ? value : null;

    /// <summary>The <c>Credential=</c> scope of a SigV4 Authorization header: access key, date, region, service, terminator.</summary>
    public IReadOnlyList<string> CredentialScope
    {
        get
        {
            var authorization = Header("Authorization") ?? string.Empty;
            var start = authorization.IndexOf("Credential=", StringComparison.Ordinal);
            if (!authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal) || start < 0)
            {
                return [];
            }

            var value = authorization[(start + "Credential=".Length)..];
            var end = value.IndexOf(',', StringComparison.Ordinal);
            return (end < 0 ? value : value[..end]).Split('/');
        }
    }
}

public sealed record StandInResponse(
    int Status,
    string Body,
    string ContentType = "application/json",
    IReadOnlyDictionary<string, string>? Headers = null);
