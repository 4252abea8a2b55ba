using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Registration;

/// <summary>
/// Signing up through the real Portal (moto and the Stripe emulator behind it, invoice collection): a person proves the
/// address with the mailed link, subscribes from the account page, and sees the key there once.
/// </summary>
public sealed class SignUpEndToEndTests(PortalFixture portal) : IClassFixture<PortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SigningUpShowsTheKeyOnceOnTheAccountPageAndGrantsAccessThroughTheStripePlan()
    {
        var (browser, keyId, keyValue) = await portal.SignUpAsync("grace@example.com", "Grace", "Hopper");
        using var _ = browser;

        var state = await RegistrationState.ReadAsync(portal.Environment, "grace@example.com");
        state.AssertRegistered(keyId, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, keyValue);
        Assert.Equal("Grace Hopper", state.Customers[0].Name);

        var again = await browser.AccountPageAsync();
        Assert.Null(AccountBrowser.KeyShownOn(again));
        Assert.DoesNotContain(keyValue, again, StringComparison.Ordinal);
        Assert.Contains($"<code id=\"api-key-hint\">{keyValue[^4..]}</code>", again, StringComparison.Ordinal);
        Assert.Equal("Active", AccountBrowser.StatusOn(again));
    }

    [Fact]
    public async Task AskingForALinkCreatesNoKeyNoCustomerAndNoRecordUntilTheLinkIsUsed()
    {
        var before = await portal.SettledFootprintAsync();
        using var browser = portal.NewBrowser();

        using var response = await browser.RequestLinkAsync("unproven@example.com");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        (await RegistrationState.ReadAsync(portal.Environment, "unproven@example.com")).AssertNothing();
        var after = await portal.SettledFootprintAsync();
        Assert.Equal(before.ApiKeys, after.ApiKeys);
        Assert.Equal(before.Customers, after.Customers);
        Assert.Null(await RecordAsync("unproven@example.com"));
        Assert.Single(portal.Mail.To("unproven@example.com"));
    }

    [Fact]
    public async Task RegisterAnswersANewAPendingAndASubscribedAddressAlike()
    {
        using var pending = await portal.SignInAsync("pending-alike@example.com");
        var (subscribed, _, _) = await portal.SignUpAsync("subscribed-alike@example.com");
        using var __ = subscribed;
        using var browser = portal.NewBrowser();

        var answers = new List<(HttpStatusCode Status, string? Type, string Body)>();
        foreach (var email in new[] { "new-alike@example.com", "pending-alike@example.com", "subscribed-alike@example.com" })
        {
            using var response = await browser.RequestLinkAsync(email, "Someone", "Else");
            answers.Add((response.StatusCode, response.Content.Headers.ContentType?.ToString(), await response.Content.ReadAsStringAsync(Ct)));
        }

        Assert.All(answers, a => Assert.Equal(answers[0], a));
        Assert.Equal(HttpStatusCode.Accepted, answers[0].Status);
        Assert.Equal("check_inbox", JsonDocument.Parse(answers[0].Body).RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task SomeoneRegisteringAnotherPersonsAddressCreatesNothingAndTheOwnerStillSignsUp()
    {
        using var attacker = portal.NewBrowser();
        for (var i = 0; i < 3; i++)
        {
            using var forged = await attacker.RequestLinkAsync("victim@example.com", "Eve", "Attacker");
            Assert.Equal(HttpStatusCode.Accepted, forged.StatusCode);
        }

        (await RegistrationState.ReadAsync(portal.Environment, "victim@example.com")).AssertNothing();

        var (owner, keyId, _) = await portal.SignUpAsync("victim@example.com", "Vera", "Owner");
        using var _ = owner;
        var state = await RegistrationState.ReadAsync(portal.Environment, "victim@example.com");
        state.AssertRegistered(keyId, portal.Environment.PriceId);
        Assert.Equal("Vera Owner", state.Customers[0].Name);
    }

    [Fact]
    public async Task AThousandUnverifiedSignupsCreateNoKeyAndNoStripeCustomer()
    {
        var before = await portal.SettledFootprintAsync();
        using var browser = portal.NewBrowser();
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();

        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, _) =>
        {
            using var response = await browser.RequestLinkAsync($"flood-{i}@example.com");
            statuses.Add(response.StatusCode);
        });

        var after = await portal.SettledFootprintAsync();
        Assert.Equal(before.ApiKeys, after.ApiKeys);
        Assert.Equal(before.Customers, after.Customers);
        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.Accepted or HttpStatusCode.ServiceUnavailable, s.ToString()));
        Assert.Equal(1000, portal.Mail.CountTo(to => to.StartsWith("flood-", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("not-an-email", "Ada", "Lovelace", "email")]
    [InlineData("bad@example.com", "", "Lovelace", "firstname")]
    [InlineData("bad@example.com", "Ada", "Love\u0007lace", "lastname")]
    [InlineData("bad@example.com", "Ada", "L", "none")]
    public async Task InvalidInputIsRejectedFieldByFieldAndSendsNothing(string email, string firstName, string lastName, string invalidField)
    {
        var tooLong = new string('x', 101);
        var mailBefore = portal.Mail.To(email).Count;
        using var response = await portal.RequestLinkAsync(email, firstName, invalidField == "none" ? tooLong : lastName);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors");
        Assert.True(errors.TryGetProperty(invalidField == "none" ? "lastname" : invalidField, out _));
        Assert.Equal(mailBefore, portal.Mail.To(email).Count);
        (await RegistrationState.ReadAsync(portal.Environment, email)).AssertNothing();
    }

    [Fact]
    public async Task TwentyConcurrentSubscribesOfOneSubscriberCreateOneCustomerAndOneKey()
    {
        const string email = "race@example.com";
        using var browser = await portal.SignInAsync(email);
        var page = await browser.AccountPageAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => browser.PostFormAsync("/account/subscribe", page)));
        try
        {
            Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.SeeOther or HttpStatusCode.ServiceUnavailable, r.StatusCode.ToString()));
            var key = await portal.MintedKeyAsync(browser) ?? throw new InvalidOperationException("no key shown");
            var state = await RegistrationState.ReadAsync(portal.Environment, email);
            state.AssertRegistered(key.Id, portal.Environment.PriceId);
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
    public async Task TheFormPostFromTheSignupPageRedirectsToCheckYourInboxAndNamesAreStoredEncoded()
    {
        using var browser = portal.NewBrowser();
        using var page = await browser.Http.GetAsync("/", Ct);
        var html = await page.Content.ReadAsStringAsync(Ct);

        using var response = await browser.PostFormAsync("/register", html, ("email", "form@example.com"), ("firstname", "<script>alert(1)</script>"), ("lastname", "O'Brien"));

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        Assert.Equal("/signin/sent", response.Headers.Location?.OriginalString);
        using var sent = await browser.Http.GetAsync("/signin/sent", Ct);
        Assert.Contains("Check your inbox", await sent.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var confirmed = await browser.ConfirmAsync(portal.Mail.LinkFor("form@example.com"));
        using var subscribed = await browser.PressAsync("/account/subscribe");
        var account = await browser.AccountPageOnceKeyIsMadeAsync();
        Assert.DoesNotContain("<script>alert", account, StringComparison.Ordinal);
        var state = await RegistrationState.ReadAsync(portal.Environment, "form@example.com");
        Assert.Equal("<script>alert(1)</script> O'Brien", state.Customers[0].Name);
        Assert.Contains($">{state.Keys[0].Value}</code>", account, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFormPostWithoutTheFormGuardIsRefusedAndSendsNothing()
    {
        var mailBefore = portal.Mail.To("forged@example.com").Count;
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = "forged@example.com",
            ["firstname"] = "Eve",
            ["lastname"] = "Forger",
        });

        using var response = await portal.Http.PostAsync("/register", form, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(mailBefore, portal.Mail.To("forged@example.com").Count);
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
        using var browser = await portal.SignInAsync("outgoing-calls@example.com");
        var before = portal.Logs.Lines.Count;
        var stripeBefore = portal.Environment.Stripe.Requests.Count;

        using var response = await browser.PressAsync("/account/subscribe");

        Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
        var lines = portal.Logs.Lines.Skip(before).ToList();
        var calls = lines.Where(l => l.Contains(" Monetization.Http.OutgoingCallLogger ", StringComparison.Ordinal)).ToList();
        var stripeCalls = calls.Where(l => l.Contains("Service=stripe", StringComparison.Ordinal)).ToList();
        var stripeRequests = portal.Environment.Stripe.Requests.Skip(stripeBefore).ToList();

        // The factory's own four lines a call (with whole URLs) are gone; each call is one line, in its own category.
        Assert.DoesNotContain(lines, l => l.Contains("System.Net.Http.HttpClient", StringComparison.Ordinal));
        Assert.NotEmpty(stripeRequests);
        Assert.Equal(stripeRequests.Count, stripeCalls.Count);
        // The key is asked of the key minting queue: no API Gateway call on a person's request.
        Assert.Contains(calls, l => l.Contains("Service=sqs", StringComparison.Ordinal));
        Assert.DoesNotContain(calls, l => l.Contains("Service=apigateway", StringComparison.Ordinal));
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
    public async Task NoKeyValueSignInTokenSessionOrSecretReachesALogLine()
    {
        var (browser, _, key) = await portal.SignUpAsync("logs@example.com");
        using var _ = browser;
        using var again = await portal.RequestLinkAsync("logs@example.com");
        var link = portal.Mail.LinkFor("logs@example.com");
        var session = browser.Cookies.GetAllCookies().Single(c => c.Name == "monetization-session").Value;

        var secrets = new[] { key, portal.Environment.Stripe.SecretKey, portal.Environment.Stripe.WebhookSecret, "logs@example.com", link.Query[7..], session };
        Assert.NotEmpty(portal.Logs.Lines);
        Assert.Contains(portal.Logs.Lines, line => line.Contains(RegistrationState.SubscriberIdOf("logs@example.com"), StringComparison.Ordinal));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(portal.Logs.Lines, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task NothingSentToAwsOrStripeCarriesTheEmailAddressButTheCustomersEmail()
    {
        const string email = "Private.Person+tag@example.com";
        var stripeRequestsBefore = portal.Environment.Stripe.Requests.Count;

        var (browser, keyId, _) = await portal.SignUpAsync(email);
        using var _ = browser;

        var subscriberId = RegistrationState.SubscriberIdOf(email);
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
    public async Task InternationalisedDomainSignsUpUnderItsAsciiForm()
    {
        var (browser, keyId, _) = await portal.SignUpAsync("ada@exämple.com");
        using var _ = browser;

        var state = await RegistrationState.ReadAsync(portal.Environment, "ada@exämple.com");
        state.AssertRegistered(keyId, portal.Environment.PriceId);
        Assert.Equal("ada@xn--exmple-cua.com", state.Customers[0].Email);
        Assert.NotEmpty(portal.Mail.To("ada@xn--exmple-cua.com"));
    }

    [Theory]
    [InlineData("josé@exämple.com")]
    [InlineData("josé@example.com")]
    public async Task NonAsciiLocalPartIsRefusedSayingWhatIsAcceptedAndLeavesNothing(string email)
    {
        var before = await portal.SettledFootprintAsync();

        using var response = await portal.RequestLinkAsync(email);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var message = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").GetProperty("email")[0].GetString()!;
        Assert.Contains("before the @", message, StringComparison.Ordinal);
        Assert.Contains("a-z", message, StringComparison.Ordinal);
        Assert.Equal(before, await portal.SettledFootprintAsync());
    }

    [Fact]
    public async Task LongestValidAddressSignsUp()
    {
        var local = new string('l', 64);
        var domain = $"{new string('d', 63)}.{new string('e', 63)}.{new string('f', 57)}.com";
        var email = $"{local}@{domain}";
        Assert.Equal(254, email.Length);

        var (browser, keyId, _) = await portal.SignUpAsync(email);
        using var _ = browser;

        (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(keyId, portal.Environment.PriceId);
    }

    [Fact]
    public async Task AddressOneCharacterTooLongIsRefusedAndLeavesNothing()
    {
        var before = await portal.SettledFootprintAsync();

        using var response = await portal.RequestLinkAsync($"{new string('l', 64)}@{new string('d', 63)}.{new string('e', 63)}.{new string('f', 58)}.com");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, await portal.SettledFootprintAsync());
    }

    private async Task<Monetization.Core.Ledger.Subscriber?> RecordAsync(string email)
    {
        using var dynamoDb = portal.Environment.DynamoDb();
        return await new Monetization.Aws.Ledger.DynamoDbSubscriberLedger(dynamoDb, Emulators.OfflineEnvironment.LedgerTableName)
            .GetAsync(RegistrationState.SubscriberIdOf(email), Ct);
    }
}
