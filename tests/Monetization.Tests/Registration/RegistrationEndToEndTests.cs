using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Monetization.Tests.Registration;

public sealed partial class RegistrationEndToEndTests(PortalFixture portal) : IClassFixture<PortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RegisteringReturnsTheKeyOnceAndGrantsAccessThroughTheStripePlan()
    {
        using var response = await portal.RegisterAsync("grace@example.com", "Grace", "Hopper");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var keyId = body.GetProperty("apiKeyId").GetString()!;
        var state = await RegistrationState.ReadAsync(portal.Environment, "grace@example.com");
        state.AssertRegistered(keyId, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, body.GetProperty("apiKey").GetString());
        Assert.Equal("Grace Hopper", state.Customers[0].Name);
    }

    [Fact]
    public async Task RegisteringTheSameEmailAgainIsAConflictThatNeverRevealsTheKey()
    {
        using var first = await portal.RegisterAsync("katherine@example.com");
        var key = (await first.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("apiKey").GetString()!;

        using var second = await portal.RegisterAsync("  Katherine@Example.COM ", "Someone", "Else");

        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal("application/problem+json", second.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Already registered", (await second.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("title").GetString());
        Assert.DoesNotContain(key, await second.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var state = await RegistrationState.ReadAsync(portal.Environment, "katherine@example.com");
        Assert.Single(state.Keys);
        Assert.Single(state.Customers);
    }

    [Theory]
    [InlineData("not-an-email", "Ada", "Lovelace", "email")]
    [InlineData("bad@example.com", "", "Lovelace", "firstname")]
    [InlineData("bad@example.com", "Ada", "Love\u0007lace", "lastname")]
    [InlineData("bad@example.com", "Ada", "L", "none")]
    public async Task InvalidInputIsRejectedFieldByFieldAndCreatesNothing(string email, string firstName, string lastName, string invalidField)
    {
        var tooLong = new string('x', 101);
        using var response = await portal.RegisterAsync(email, firstName, invalidField == "none" ? tooLong : lastName);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors");
        Assert.True(errors.TryGetProperty(invalidField == "none" ? "lastname" : invalidField, out _));
        var state = await RegistrationState.ReadAsync(portal.Environment, email);
        Assert.Empty(state.Keys);
        Assert.Empty(state.Customers);
    }

    [Fact]
    public async Task FiftyConcurrentRegistrationsOfOneEmailCreateOneCustomerAndOneKey()
    {
        const string email = "race@example.com";
        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => portal.RegisterAsync(email)));
        try
        {
            Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
            Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Conflict, r.StatusCode));
            var winner = await responses.Single(r => r.StatusCode == HttpStatusCode.Created).Content.ReadFromJsonAsync<JsonElement>(Ct);
            var state = await RegistrationState.ReadAsync(portal.Environment, email);
            state.AssertRegistered(winner.GetProperty("apiKeyId").GetString()!, portal.Environment.PriceId);
        }
        finally
        {
            foreach (var response in responses)
            {
                response.Dispose();
            }
        }
    }

    [Fact]
    public async Task FormPostFromTheSignupPageRegistersAndRendersTheKeyEncoded()
    {
        using var page = await portal.Http.GetAsync("/", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);
        var token = AntiforgeryField().Match(html).Groups[1].Value;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__antiforgery"] = token,
            ["email"] = "form@example.com",
            ["firstname"] = "<script>alert(1)</script>",
            ["lastname"] = "O'Brien",
        });

        using var response = await portal.Http.PostAsync("/register", form, Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var result = await response.Content.ReadAsStringAsync(Ct);
        var state = await RegistrationState.ReadAsync(portal.Environment, "form@example.com");
        Assert.Contains($">{state.Keys[0].Value}</code>", result, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert", result, StringComparison.Ordinal);
        Assert.Equal("<script>alert(1)</script> O'Brien", state.Customers[0].Name);
    }

    [Fact]
    public async Task FormPostWithoutTheAntiforgeryTokenIsRefusedAndCreatesNothing()
    {
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = "forged@example.com",
            ["firstname"] = "Eve",
            ["lastname"] = "Forger",
        });

        using var response = await portal.Http.PostAsync("/register", form, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty((await RegistrationState.ReadAsync(portal.Environment, "forged@example.com")).Keys);
    }

    [Fact]
    public async Task PagesCarryTheSecurityHeaders()
    {
        using var response = await portal.Http.GetAsync("/", Ct);

        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));
    }

    [Fact]
    public async Task OversizedRequestBodyIsRefused()
    {
        using var content = new StringContent(JsonSerializer.Serialize(new { email = "big@example.com", firstname = new string('a', 40_000), lastname = "x" }), System.Text.Encoding.UTF8, "application/json");

        using var response = await portal.Http.PostAsync("/register", content, Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.True(response.Headers.ConnectionClose, "a refused body is left unread, so the connection must be announced as closing");
    }

    [Fact]
    public async Task HealthCheckAnswers()
    {
        using var response = await portal.Http.GetAsync("/healthz", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task EveryOutgoingCallIsOneInformationLineWithoutIdsOrQueryStrings()
    {
        var before = portal.Logs.Lines.Count;
        var stripeBefore = portal.Environment.Stripe.Requests.Count;

        using var response = await portal.RegisterAsync("outgoing-calls@example.com");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var lines = portal.Logs.Lines.Skip(before).ToList();
        var calls = lines.Where(l => l.Contains(" Monetization.Http.OutgoingCallLogger ", StringComparison.Ordinal)).ToList();
        var stripeCalls = calls.Where(l => l.Contains("Service=stripe", StringComparison.Ordinal)).ToList();
        var stripeRequests = portal.Environment.Stripe.Requests.Skip(stripeBefore).ToList();

        // The factory's own four lines a call (with whole URLs) are gone; each call is one line, in its own category.
        Assert.DoesNotContain(lines, l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.NotEmpty(stripeRequests);
        Assert.Equal(stripeRequests.Count, stripeCalls.Count);
        Assert.Contains(calls, l => l.Contains("Service=apigateway", StringComparison.Ordinal));
        Assert.All(calls, l => Assert.StartsWith("Information ", l, StringComparison.Ordinal));
        foreach (var request in stripeRequests)
        {
            var ids = request.Path.Split('/', StringSplitOptions.RemoveEmptyEntries).Where(s => s.Contains('_', StringComparison.Ordinal) && s.Any(char.IsDigit));
            Assert.All(ids, id => Assert.DoesNotContain(calls, l => l.Contains(id, StringComparison.Ordinal)));
        }

        Assert.DoesNotContain(calls, l => l.Contains('?', StringComparison.Ordinal) || l.Contains("cus_", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://api.stripe.com/v1/customers/cus_Q1w2E3?expand[]=x", "/v1/customers/{id}")]
    [InlineData("https://api.stripe.com/v1/checkout/sessions?customer=cus_1", "/v1/checkout/sessions")]
    [InlineData("https://apigateway.us-east-1.amazonaws.com/usageplans/abc123/keys/k9x8", "/usageplans/{id}/keys/{id}")]
    [InlineData("https://api.stripe.com/v1/unknownthing/value", "/v1/{id}/{id}")]
    public void TheLoggedRouteNamesNoIdAndNoQuery(string url, string route)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);

        Assert.Equal(route, Monetization.Http.OutgoingCallLogger.Route(request));
    }

    [Fact]
    public async Task NoKeyValueOrSecretReachesALogLine()
    {
        using var response = await portal.RegisterAsync("logs@example.com");
        var key = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("apiKey").GetString()!;
        using var again = await portal.RegisterAsync("logs@example.com");

        var secrets = new[] { key, portal.Environment.Stripe.SecretKey, portal.Environment.Stripe.WebhookSecret, "logs@example.com" };
        Assert.NotEmpty(portal.Logs.Lines);
        Assert.Contains(portal.Logs.Lines, line => line.Contains(SubscriberIdOf("logs@example.com"), StringComparison.Ordinal));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(portal.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task NothingSentToAwsOrStripeCarriesTheEmailAddress()
    {
        const string email = "Private.Person+tag@example.com";
        var stripeRequestsBefore = portal.Environment.Stripe.Requests.Count;

        using var response = await portal.RegisterAsync(email);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var keyId = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("apiKeyId").GetString()!;
        var subscriberId = SubscriberIdOf(email);
        using var http = portal.Environment.ApiGatewayHttp();
        var key = await http.GetFromJsonAsync<JsonElement>(new Uri(http.BaseAddress!, $"/apikeys/{keyId}"), Ct);
        var customer = Assert.Single(portal.Environment.Stripe.Customers, c => c.Email == email.ToLowerInvariant());
        var sentOut = new List<string> { key.GetProperty("name").GetString()!, key.GetProperty("description").GetString()! };
        sentOut.AddRange(customer.Metadata.Keys.Concat(customer.Metadata.Values));
        var idempotencyKeys = portal.Environment.Stripe.Requests.Skip(stripeRequestsBefore).Select(r => r.IdempotencyKey).OfType<string>().ToList();
        Assert.NotEmpty(idempotencyKeys);
        sentOut.AddRange(idempotencyKeys);
        foreach (var text in sentOut)
        {
            Assert.DoesNotContain("private.person", text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("example.com", text, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Equal(subscriberId, customer.Metadata["subscriberId"]);
        Assert.Contains(subscriberId, key.GetProperty("description").GetString()!, StringComparison.Ordinal);
        Assert.All(idempotencyKeys, k => Assert.True(k.Length <= 255 && k.All(char.IsAscii), k));
        Assert.DoesNotContain(portal.Logs.Lines, line => line.Contains(email, StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task InternationalisedDomainRegistersUnderItsAsciiForm()
    {
        using var response = await portal.RegisterAsync("ada@exämple.com");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        var state = await RegistrationState.ReadAsync(portal.Environment, "ada@exämple.com");
        state.AssertRegistered(body.GetProperty("apiKeyId").GetString()!, portal.Environment.PriceId);
        Assert.Equal("ada@xn--exmple-cua.com", state.Customers[0].Email);

        using var again = await portal.RegisterAsync("ada@xn--exmple-cua.com");

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Theory]
    [InlineData("josé@exämple.com")]
    [InlineData("josé@example.com")]
    public async Task NonAsciiLocalPartIsRefusedSayingWhatIsAcceptedAndLeavesNothing(string email)
    {
        var before = await Footprint.ReadAsync(portal.Environment);

        using var response = await portal.RegisterAsync(email);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").GetProperty("email")[0].GetString()!;
        Assert.Contains("before the @", message, StringComparison.Ordinal);
        Assert.Contains("a-z", message, StringComparison.Ordinal);
        Assert.Equal(before, await Footprint.ReadAsync(portal.Environment));
    }

    [Fact]
    public async Task LongestValidAddressRegisters()
    {
        var local = new string('l', 64);
        var domain = $"{new string('d', 63)}.{new string('e', 63)}.{new string('f', 57)}.com";
        var email = $"{local}@{domain}";
        Assert.Equal(254, email.Length);

        using var response = await portal.RegisterAsync(email);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(body.GetProperty("apiKeyId").GetString()!, portal.Environment.PriceId);
    }

    [Fact]
    public async Task AddressOneCharacterTooLongIsRefusedAndLeavesNothing()
    {
        var before = await Footprint.ReadAsync(portal.Environment);

        using var response = await portal.RegisterAsync($"{new string('l', 64)}@{new string('d', 63)}.{new string('e', 63)}.{new string('f', 58)}.com");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, await Footprint.ReadAsync(portal.Environment));
    }

    private static string SubscriberIdOf(string email) =>
        Monetization.Core.Registration.Email.TryParse(email, out var parsed, out _)
            ? Monetization.Core.Registration.RegisterSubscriber.SubscriberIdFor(parsed)
            : throw new ArgumentException("not an e-mail address", nameof(email));

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
