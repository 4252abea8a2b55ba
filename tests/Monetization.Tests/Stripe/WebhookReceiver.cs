using System.Net;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monetization.Emulators;

namespace Monetization.Tests.Stripe;

/// <summary>A webhook endpoint on a free loopback port that keeps every delivery (body and <c>Stripe-Signature</c>) and answers 200.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Body, string Signature)> _received = [];

    private WebhookReceiver(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public static async Task<WebhookReceiver> StartAsync(CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var receiver = new WebhookReceiver(builder.Build(), new Uri($"http://127.0.0.1:{port}/hook"));
        receiver._app.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            lock (receiver._received)
            {
                receiver._received.Add((body, request.Headers["Stripe-Signature"].ToString()));
            }

            return Results.Ok();
        });
        await receiver._app.StartAsync(cancellationToken);
        return receiver;
    }

    /// <summary>The first delivery of an event of <paramref name="type"/> that <paramref name="matches"/>, waited for up to 10 seconds.</summary>
    public async Task<(string Body, string Signature)> WaitForAsync(string type, Func<JsonNode, bool> matches, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(10);
        while (true)
        {
            lock (_received)
            {
                foreach (var delivery in _received)
                {
                    var json = JsonNode.Parse(delivery.Body)!;
                    if ((string?)json["type"] == type && matches(json))
                    {
                        return delivery;
                    }
                }
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"No {type} event matching the condition was delivered within 10 seconds.");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
