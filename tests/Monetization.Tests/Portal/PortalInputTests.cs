using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Monetization.Tests.Portal;

/// <summary>
/// Hostile and malformed input is the sender's mistake: a 4xx with a clear answer, never a 500, and nothing reaches
/// a dependency (the factory's dependencies are unreachable, so a call would turn into a 503).
/// </summary>
public sealed partial class PortalInputTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(HttpClient Http, string Token)> SignupFormAsync(PortalFactory factory)
    {
        var http = factory.CreateClient();
        var html = await http.GetStringAsync("/", Ct);
        return (http, AntiforgeryField().Match(html).Groups[1].Value);
    }

    /// <summary>A form body as bytes: characters up to U+00FF stand for the byte of that value, so a test can send
    /// bytes that are not UTF-8.</summary>
    private static ByteArrayContent FormBody(string encoded)
    {
        var content = new ByteArrayContent(Encoding.Latin1.GetBytes(encoded));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        return content;
    }

    [Theory]
    [InlineData("email=ada%00%40example.com&firstname=Ada&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=A%00da&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=Ada&lastname=Love%00lace")]
    [InlineData("email=ada%40example.com&firstname=\u00FF\u00FE&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=\u00C3(&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=\u00ED\u00A0\u0080&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=%FF%FE&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=Ada&lastname=Love%C3%28lace")]
    [InlineData("email=ada%FF%40example.com&firstname=Ada&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&email=eve%40example.com&firstname=Ada&lastname=Lovelace")]
    [InlineData("email=ada%40example.com&firstname=Ada&firstname=Eve&lastname=Lovelace")]
    [InlineData("email=&firstname=&lastname=")]
    [InlineData("")]
    public async Task AHostileFormPostToRegisterIsABadRequestPage(string fields)
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        var (http, token) = await SignupFormAsync(factory);
        using var content = FormBody($"__antiforgery={Uri.EscapeDataString(token)}&{fields}");

        using var response = await http.PostAsync("/register", content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(factory.Logs.Lines, line => line.Contains("Exception", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("x-amzn-marketplace-token=abc%00def")]
    [InlineData("x-amzn-marketplace-token=\u00FF\u00FE\u00FD")]
    [InlineData("x-amzn-marketplace-token=abc%FF%FEdef")]
    [InlineData("x-amzn-marketplace-token=a&x-amzn-marketplace-token=b")]
    [InlineData("x-amzn-marketplace-token=")]
    public async Task AHostileMarketplaceLandingIsABadRequestPage(string fields)
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        using var http = factory.CreateClient();
        using var content = FormBody(fields);

        using var response = await http.PostAsync("/marketplace", content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("""{"email":5,"firstname":"Ada","lastname":"Lovelace"}""")]
    [InlineData("""{"email":["a@example.com"],"firstname":"Ada","lastname":"Lovelace"}""")]
    [InlineData("""{"email":"a@example.com","firstname":{"x":1},"lastname":"Lovelace"}""")]
    [InlineData("""[1,2,3]""")]
    [InlineData("""null""")]
    [InlineData("""{"email":"a\u0000@example.com","firstname":"Ada","lastname":"Lovelace"}""")]
    [InlineData("""{"email":"a@example.com","firstname":"\ud800","lastname":"Lovelace"}""")]
    [InlineData("""{"email":"a@example.com","email":"b@example.com","firstname":"Ada","lastname":"Lovelace"}""")]
    [InlineData("{")]
    [InlineData("")]
    public async Task MalformedJsonIsABadRequestProblem(string body)
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        using var http = factory.CreateClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        using var response = await http.PostAsync("/register", content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task InvalidUtf8InAJsonBodyIsABadRequestProblem()
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        using var http = factory.CreateClient();
        using var content = new ByteArrayContent([.. "{\"email\":\"a@example.com\",\"firstname\":\""u8, 0xFF, 0xFE, .. "\",\"lastname\":\"L\"}"u8]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await http.PostAsync("/register", content, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("multipart/form-data; boundary=x")]
    public async Task AWrongContentTypeIsRefusedWithoutA500(string contentType)
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        using var http = factory.CreateClient();
        using var content = new StringContent("email=a@example.com", Encoding.UTF8);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        using var response = await http.PostAsync("/register", content, Ct);

        Assert.InRange((int)response.StatusCode, 400, 499);
    }

    [Fact]
    public async Task AHugeFieldIsRefusedAsTooLarge()
    {
        await using var factory = new PortalFactory(PortalFactory.Offline());
        var (http, token) = await SignupFormAsync(factory);
        using var content = FormBody($"__antiforgery={Uri.EscapeDataString(token)}&email=a%40example.com&firstname={new string('a', 40_000)}&lastname=L");

        using var response = await http.PostAsync("/register", content, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Fact]
    public async Task ANameAtTheLimitInCharactersIsAcceptedAndOneMoreIsRefused()
    {
        // The accepted name goes on to the (unreachable) dependencies: a short budget makes that a quick 503.
        var settings = PortalFactory.Offline();
        settings["Monetization:RequestBudgetSeconds"] = "1";
        settings["Monetization:CleanupReserveSeconds"] = "1";
        await using var factory = new PortalFactory(settings);
        using var http = factory.CreateClient();
        var html = await http.GetStringAsync("/", Ct);
        Assert.Equal(2, Regex.Count(html, "maxlength=\"100\""));

        // 100 characters outside the Basic Multilingual Plane are 200 UTF-16 units: still one name of 100 characters.
        var hundred = string.Concat(Enumerable.Repeat("\U0001D4D0", 100));
        using var tooLong = await http.PostAsync("/register", Json("a@example.com", hundred + "a"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Contains("firstname", await tooLong.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var atLimit = await http.PostAsync("/register", Json("a@example.com", hundred), Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, atLimit.StatusCode);
        Assert.DoesNotContain("firstname", await atLimit.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    private static StringContent Json(string email, string firstName) =>
        new(System.Text.Json.JsonSerializer.Serialize(new { email, firstname = firstName, lastname = "L" }), Encoding.UTF8, "application/json");

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
