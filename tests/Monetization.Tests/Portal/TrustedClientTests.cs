using System.Net;
using System.Text;

namespace Monetization.Tests.Portal;

/// <summary>
/// Who the client is, for the per-client rate limits, HSTS and Secure cookies: the connection, or behind API Gateway
/// the request context the Lambda Web Adapter passes; never a header the client wrote. On Kestrel, so the connection
/// is a real loopback one.
/// </summary>
public sealed class TrustedClientTests
{
    private const int Permits = 2;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static (PortalFactory Portal, HttpClient Http) Start(string? clientAddressSource)
    {
        var settings = PortalFactory.Offline();
        settings["Monetization:RegisterPermitsPerMinute"] = Permits.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (clientAddressSource is not null)
        {
            settings["Monetization:ClientAddressSource"] = clientAddressSource;
        }

        var portal = new PortalFactory(settings);
        // A listener of its own rather than UseKestrel(port), whose address rewrite races the app's own start (dotnet/aspnetcore#67714).
        portal.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        portal.StartServer();

        // The cookies themselves are looked at, so nothing takes them out of the answers.
        portal.ClientOptions.HandleCookies = false;
        return (portal, portal.CreateClient());
    }

    /// <summary>The request context an HTTP API (payload 2.0) event carries, as the adapter passes it.</summary>
    private static string Context(string sourceIp) =>
        $$"""{"accountId":"123456789012","apiId":"abc123","domainName":"abc123.execute-api.us-east-1.amazonaws.com","http":{"method":"POST","path":"/register","protocol":"HTTP/1.1","sourceIp":"{{sourceIp}}","userAgent":"curl/8"},"requestId":"r-1","routeKey":"ANY /{proxy+}","stage":"$default","time":"02/Dec/2026:10:00:00 +0000","timeEpoch":1796205600000}""";

    private static async Task<HttpStatusCode> RegisterAsync(HttpClient http, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/register") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request, Ct);
        return response.StatusCode;
    }

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd("text/html");
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return await http.SendAsync(request, Ct);
    }

    private static IEnumerable<string> Cookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var cookies) ? cookies : [];

    [Theory]
    [InlineData(null)]
    [InlineData("Connection")]
    public async Task VaryingTheForwardingHeadersDoesNotLiftTheRegistrationLimit(string? clientAddressSource)
    {
        var (portal, http) = Start(clientAddressSource);
        await using var _ = portal;
        using var __ = http;

        var statuses = new List<HttpStatusCode>();
        for (var i = 1; i <= 6; i++)
        {
            // A fresh X-Forwarded-For and a forged request context every time: neither is trusted on a direct connection.
            statuses.Add(await RegisterAsync(http, ("X-Forwarded-For", $"203.0.113.{i}"), ("X-Forwarded-Proto", "https"), (LambdaRequestContextHeader, Context($"198.51.100.{i}"))));
        }

        Assert.All(statuses.Take(Permits), s => Assert.NotEqual(HttpStatusCode.TooManyRequests, s));
        Assert.All(statuses.Skip(Permits), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
    }

    [Fact]
    public async Task XForwardedProtoFromAClientAddsNeitherHstsNorSecureCookies()
    {
        var (portal, http) = Start(clientAddressSource: null);
        await using var _ = portal;
        using var __ = http;

        using var page = await GetAsync(http, "/", ("X-Forwarded-Proto", "https"), ("X-Forwarded-For", "203.0.113.9"));

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.False(page.Headers.Contains("Strict-Transport-Security"));
        var cookie = Assert.Single(Cookies(page), c => c.StartsWith("monetization-form=", StringComparison.Ordinal));
        Assert.DoesNotContain("secure", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task BehindApiGatewayEachSourceIpHasItsOwnBudget()
    {
        var (portal, http) = Start("LambdaRequestContext");
        await using var _ = portal;
        using var __ = http;

        var first = new List<HttpStatusCode>();
        var second = new List<HttpStatusCode>();
        for (var i = 0; i <= Permits; i++)
        {
            // The same X-Forwarded-For for both clients: behind the adapter it says nothing either.
            first.Add(await RegisterAsync(http, (LambdaRequestContextHeader, Context("198.51.100.7")), ("X-Forwarded-For", "203.0.113.1")));
            second.Add(await RegisterAsync(http, (LambdaRequestContextHeader, Context("2001:db8::7")), ("X-Forwarded-For", "203.0.113.1")));
        }

        foreach (var client in new[] { first, second })
        {
            Assert.All(client.Take(Permits), s => Assert.NotEqual(HttpStatusCode.TooManyRequests, s));
            Assert.Equal(HttpStatusCode.TooManyRequests, client[Permits]);
        }
    }

    [Fact]
    public async Task RequestsWithoutAUsableRequestContextShareTheConnectionsOneBudget()
    {
        var (portal, http) = Start("LambdaRequestContext");
        await using var _ = portal;
        using var __ = http;

        // Each differs from the others, as a client trying its luck would make them; none names an address.
        (string Name, string Value)[][] unusable =
        [
            [],
            [(LambdaRequestContextHeader, "{not json")],
            [(LambdaRequestContextHeader, """{"http":{"sourceIp":"not-an-address"}}""")],
            [(LambdaRequestContextHeader, """{"http":{"sourceIp":12345}}""")],
            [(LambdaRequestContextHeader, """{"sourceIp":"198.51.100.8"}""")],
            [(LambdaRequestContextHeader, Context("198.51.100.9")), (LambdaRequestContextHeader, Context("198.51.100.10"))],
        ];
        var statuses = new List<HttpStatusCode>();
        foreach (var headers in unusable)
        {
            statuses.Add(await RegisterAsync(http, [.. headers, ("X-Forwarded-For", $"203.0.113.{statuses.Count + 1}")]));
        }

        var usable = await RegisterAsync(http, (LambdaRequestContextHeader, Context("198.51.100.11")));

        Assert.All(statuses.Take(Permits), s => Assert.NotEqual(HttpStatusCode.TooManyRequests, s));
        Assert.All(statuses.Skip(Permits), s => Assert.Equal(HttpStatusCode.TooManyRequests, s));
        Assert.NotEqual(HttpStatusCode.TooManyRequests, usable);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/nowhere")]
    public async Task BehindApiGatewayEveryAnswerIsHttpsWithHstsAndSecureCookies(string path)
    {
        var (portal, http) = Start("LambdaRequestContext");
        await using var _ = portal;
        using var __ = http;

        using var answer = await GetAsync(http, path, (LambdaRequestContextHeader, Context("198.51.100.7")));

        Assert.Contains("max-age=", Assert.Single(answer.Headers.GetValues("Strict-Transport-Security")), StringComparison.Ordinal);
        Assert.All(Cookies(answer), c => Assert.Contains("; secure", c, StringComparison.OrdinalIgnoreCase));
        if (path == "/")
        {
            Assert.Contains(Cookies(answer), c => c.StartsWith("monetization-form=", StringComparison.Ordinal));
        }
    }

    private const string LambdaRequestContextHeader = "x-amzn-request-context";
}
