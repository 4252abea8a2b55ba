using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Monetization.Emulators;
using Monetization.Portal.Hosting;

namespace Monetization.Tests.Portal;

/// <summary>
/// The answers Kestrel writes itself, for requests it could not read, carry the security headers too. Raw bytes over
/// TCP against the Portal on Kestrel, since no HTTP client sends requests this broken.
/// </summary>
public sealed class ServerRejectionTests : IAsyncLifetime
{
    private WebApplication _portal = null!;

    private int _port;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _port = FreePort.Next();
        _portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(PortalFactory.Offline());
            builder.WebHost.UseUrls($"http://127.0.0.1:{_port}");
        });
        await _portal.StartAsync(Ct);
    }

    public async ValueTask DisposeAsync() => await _portal.DisposeAsync();

    [Fact]
    public async Task ARequestLineOverKestrelsLimitIs414WithTheSecurityHeaders()
    {
        var target = "/" + new string('a', 9000);

        var answer = await SendAsync($"GET {target} HTTP/1.1\r\nHost: portal\r\n\r\n");

        Assert.Equal(414, answer.Status);
        AssertSecurityHeaders(answer);
    }

    [Fact]
    public async Task RequestHeadersOverKestrelsLimitAre431WithTheSecurityHeaders()
    {
        var cookie = new string('c', 33 * 1024);

        var answer = await SendAsync($"GET / HTTP/1.1\r\nHost: portal\r\nCookie: {cookie}\r\n\r\n");

        Assert.Equal(431, answer.Status);
        AssertSecurityHeaders(answer);
    }

    [Fact]
    public async Task MoreHeadersThanKestrelAllowsAre431WithTheSecurityHeaders()
    {
        var headers = string.Concat(Enumerable.Range(0, 101).Select(i => $"X-Header-{i}: {i}\r\n"));

        var answer = await SendAsync($"GET / HTTP/1.1\r\nHost: portal\r\n{headers}\r\n");

        Assert.Equal(431, answer.Status);
        AssertSecurityHeaders(answer);
    }

    [Theory]
    [InlineData("GET /\r\nHost: portal\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: portal\r\nBad Header: value\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: portal\r\nNo colon in this line\r\n\r\n")]
    public async Task AMalformedRequestIs400WithTheSecurityHeaders(string request)
    {
        var answer = await SendAsync(request);

        Assert.Equal(400, answer.Status);
        AssertSecurityHeaders(answer);
    }

    [Fact]
    public async Task AnAnswerFromThePipelineOnTheSameConnectionIsLeftAsItWas()
    {
        var answers = await SendAsync("GET /healthz HTTP/1.1\r\nHost: portal\r\n\r\nGET /\r\n\r\n", expected: 2);

        Assert.Equal(200, answers[0].Status);
        Assert.Equal("ok", answers[0].Body);
        Assert.Single(answers[0].Headers, h => h.Name.Equals("Content-Security-Policy", StringComparison.OrdinalIgnoreCase));
        AssertSecurityHeaders(answers[0]);
        Assert.Equal(400, answers[1].Status);
        AssertSecurityHeaders(answers[1]);
    }

    private static void AssertSecurityHeaders(Answer answer)
    {
        foreach (var (name, value) in SecurityHeaders.For(https: false))
        {
            var sent = Assert.Single(answer.Headers, h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;

            // The pipeline's pages may also post to Stripe's hosted pages; every other directive is the same.
            Assert.Equal(value, name == "Content-Security-Policy" ? System.Text.RegularExpressions.Regex.Replace(sent, "form-action 'self'[^;]*", "form-action 'self'") : sent);
        }

        Assert.Contains(answer.Headers, h => h.Name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase) && h.Value == "no-store");
        Assert.DoesNotContain(answer.Headers, h => h.Name.Equals("Server", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(answer.Headers, h => h.Name.Equals("Strict-Transport-Security", StringComparison.OrdinalIgnoreCase));
    }

    private async Task<Answer> SendAsync(string request) => (await SendAsync(request, expected: 1))[0];

    /// <summary>Sends the bytes, reads until the server closes the connection and splits what came back into answers.</summary>
    private async Task<IReadOnlyList<Answer>> SendAsync(string request, int expected)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", _port, Ct);
        using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        var answers = Answer.ParseAll(Encoding.Latin1.GetString(received.ToArray()));
        Assert.Equal(expected, answers.Count);
        return answers;
    }

    private sealed record Answer(int Status, IReadOnlyList<(string Name, string Value)> Headers, string Body)
    {
        public static List<Answer> ParseAll(string text)
        {
            var answers = new List<Answer>();
            while (text.Length > 0)
            {
                var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                Assert.True(end > 0, $"an unfinished header block: {text}");
                var lines = text[..end].Split("\r\n");
                var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                var headers = lines.Skip(1).Select(l => (Name: l[..l.IndexOf(':', StringComparison.Ordinal)], Value: l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim())).ToList();
                var rest = text[(end + 4)..];
                var length = headers.Where(h => h.Name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Select(h => int.Parse(h.Value, System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
                answers.Add(new Answer(status, headers, rest[..length]));
                text = rest[length..];
            }

            return answers;
        }
    }
}
