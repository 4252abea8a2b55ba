using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Monetization.Core.Marketplace;
using Monetization.Emulators;

namespace Monetization.Tests.Portal;

/// <summary>
/// What every answer looks like from outside, errors included: the security headers, no server banner, HSTS only over
/// HTTPS, a page for a browser and problem+json for an API client. On Kestrel, so the server's own headers are real.
/// </summary>
public sealed class PortalResponseTests : IAsyncLifetime
{
    private PortalFactory _portal = null!;

    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        var settings = PortalFactory.Offline();
        settings["Monetization:RegisterPermitsPerMinute"] = "2";
        settings["Monetization:MarketplacePermitsPerMinute"] = "2";
        settings["Monetization:AccountPermitsPerMinute"] = "2";
        settings["Monetization:MaxRequestBodyBytes"] = "2048";
        settings["Monetization:StripeWebhookMaxBodyBytes"] = "8192";
        _portal = new PortalFactory(settings, services => services.Replace(ServiceDescriptor.Singleton<IMarketplaceMetering>(new BrokenMetering())));
        // A listener of its own rather than UseKestrel(port), whose address rewrite races the app's own start (dotnet/aspnetcore#67714).
        _portal.UseKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        _portal.StartServer();
        _http = _portal.CreateClient();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _portal.DisposeAsync();
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/site.css")]
    [InlineData("/app.js")]
    [InlineData("/healthz")]
    public async Task HeadAnswersLikeGetWithoutABody(string path)
    {
        using var get = await SendAsync(HttpMethod.Get, path, accept: "text/html");
        using var head = await SendAsync(HttpMethod.Head, path, accept: "text/html");

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Equal(get.Headers.CacheControl, head.Headers.CacheControl);
        Assert.Equal("nosniff", head.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.NotEmpty(await get.Content.ReadAsByteArrayAsync(Ct));
        Assert.Empty(await head.Content.ReadAsByteArrayAsync(Ct));
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? accept = null, HttpContent? content = null, string? forwardedProto = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (accept is not null)
        {
            request.Headers.Accept.ParseAdd(accept);
        }

        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
        }

        return await _http.SendAsync(request, Ct);
    }

    private static void AssertSecurityHeaders(HttpResponseMessage response)
    {
        Assert.Contains("frame-ancestors 'none'", string.Join(";", response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
        Assert.False(response.Headers.Contains("Server"), "the server must not announce itself");
    }

    public static TheoryData<string, string, int> ErrorAnswers() => new()
    {
        { "GET", "/nowhere", 404 },
        { "GET", "/register", 405 },
        { "POST", "/big", 413 },
        { "POST", "/marketplace", 500 },
    };

    [Theory]
    [MemberData(nameof(ErrorAnswers))]
    public async Task EveryErrorCarriesTheSecurityHeadersAndABrowserGetsAPage(string method, string path, int status)
    {
        using HttpContent content = path == "/big" ? new StringContent(new string('x', 4096), Encoding.UTF8, "application/json") : Token();

        using var response = await SendAsync(new HttpMethod(method), path == "/big" ? "/register" : path, "text/html,application/xhtml+xml,*/*;q=0.8", content);

        Assert.Equal(status, (int)response.StatusCode);
        AssertSecurityHeaders(response);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<h1>", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ErrorAnswers))]
    public async Task AnApiClientGetsProblemDetailsForEveryError(string method, string path, int status)
    {
        using HttpContent content = path == "/big" ? new StringContent(new string('x', 4096), Encoding.UTF8, "application/json") : Token();

        using var response = await SendAsync(new HttpMethod(method), path == "/big" ? "/register" : path, "application/json", content);

        Assert.Equal(status, (int)response.StatusCode);
        AssertSecurityHeaders(response);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("/register", 2048, 2049, 413)]
    [InlineData("/stripe/webhook", 8192, 4096, 400)]
    [InlineData("/stripe/webhook", 8192, 8193, 413)]
    public async Task EachEndpointTakesBodiesUpToItsOwnLimit(string path, int limit, int bytes, int status)
    {
        using var content = new StringContent(new string('x', bytes), Encoding.UTF8, "application/json");
        Assert.Equal(bytes > limit, status == 413);

        using var response = await SendAsync(HttpMethod.Post, path, "application/json", content);

        Assert.Equal(status, (int)response.StatusCode);
        AssertSecurityHeaders(response);
    }

    [Fact]
    public async Task TooManyRegistrationsGetAPageWithTheTimeLeftInTheWindow()
    {
        for (var i = 0; i < 2; i++)
        {
            using var allowed = await SendAsync(HttpMethod.Post, "/register", "text/html", new StringContent("{}", Encoding.UTF8, "application/json"));
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }

        using var refused = await SendAsync(HttpMethod.Post, "/register", "text/html", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        AssertSecurityHeaders(refused);
        Assert.Equal("text/html", refused.Content.Headers.ContentType?.MediaType);
        var wait = Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.InRange(wait, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(60));
        var page = await refused.Content.ReadAsStringAsync(Ct);
        Assert.Contains($"Try again in {(int)wait.TotalSeconds} seconds", page, StringComparison.Ordinal);

        // A refused form post is not repeated by the page itself.
        Assert.DoesNotContain("http-equiv=\"refresh\"", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MarketplaceLandingsAreRateLimitedPerClientAddress()
    {
        for (var i = 0; i < 2; i++)
        {
            using var allowed = await SendAsync(HttpMethod.Post, "/marketplace", "text/html", Token());
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }

        using var refused = await SendAsync(HttpMethod.Post, "/marketplace", "text/html", Token());

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter);
    }

    [Fact]
    public async Task AccountPagesAreRateLimitedPerClientAddress()
    {
        for (var i = 0; i < 2; i++)
        {
            using var allowed = await SendAsync(HttpMethod.Get, "/account", "text/html");
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }

        using var refused = await SendAsync(HttpMethod.Get, "/account", "text/html");

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var wait = (int)Assert.NotNull(refused.Headers.RetryAfter?.Delta).TotalSeconds;
        AssertSecurityHeaders(refused);

        // A page view, safe to repeat: the page (the account page waiting for a key reloads itself) comes back by itself.
        var page = await refused.Content.ReadAsStringAsync(Ct);
        Assert.Contains($"<meta http-equiv=\"refresh\" content=\"{wait}\">", page, StringComparison.Ordinal);
        Assert.Contains($"tries again by itself in {wait} seconds", page, StringComparison.Ordinal);
    }

    /// <summary>Over HTTPS behind API Gateway they are sent (<see cref="TrustedClientTests"/>); a client's X-Forwarded-Proto never makes a request HTTPS.</summary>
    [Fact]
    public async Task HstsIsNotSentOverPlainHttpWhateverTheClientForwards()
    {
        using var plain = await SendAsync(HttpMethod.Get, "/");
        using var forwarded = await SendAsync(HttpMethod.Get, "/", forwardedProto: "https");
        using var notFound = await SendAsync(HttpMethod.Get, "/nowhere", forwardedProto: "https");

        AssertSecurityHeaders(plain);
        AssertSecurityHeaders(notFound);
        Assert.All([plain, forwarded, notFound], r => Assert.False(r.Headers.Contains("Strict-Transport-Security")));
    }

    private static FormUrlEncodedContent Token() => new(new Dictionary<string, string> { ["x-amzn-marketplace-token"] = "token-1" });

    /// <summary>Metering that fails with a programming error, so the landing answers 500.</summary>
    private sealed class BrokenMetering : IMarketplaceMetering
    {
        public Task<ResolveCustomerOutcome> ResolveCustomerAsync(Monetization.Core.Secret registrationToken, CancellationToken cancellationToken) =>
            Task.FromException<ResolveCustomerOutcome>(new InvalidOperationException("broken"));

        public Task<IReadOnlyList<MeteringRecordResult>> BatchMeterUsageAsync(string productCode, IReadOnlyList<MeteringRecord> records, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
