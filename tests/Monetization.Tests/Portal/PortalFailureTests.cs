using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Core.Idempotency;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Core.Accounts;
using Monetization.Core.Mail;
using Monetization.Tests.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Tests.Marketplace;

namespace Monetization.Tests.Portal;

/// <summary>
/// The Portal's one failure answer: a dependency that did not answer is a 503 with Retry-After, wherever it sits in
/// the exception chain; any other fault is a 500 that does not claim a service is down.
/// </summary>
public sealed class PortalFailureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static PortalFactory WithMetering(Exception failure) => new(PortalFactory.Offline(), services =>
        services.Replace(ServiceDescriptor.Singleton<IMarketplaceMetering>(new ThrowingMetering(failure))));

    /// <summary>A registration whose e-mail throws; the account store is in memory.</summary>
    private static PortalFactory WithMailFailing(Exception failure) => new(PortalFactory.Offline(), services =>
    {
        services.Replace(ServiceDescriptor.Singleton<IAccountStore>(new InMemoryAccountStore()));
        services.Replace(ServiceDescriptor.Singleton<IEmailSender>(new ThrowingMail(failure)));
    });

    private static Task<HttpResponseMessage> RegisterAsync(HttpClient http) =>
        http.PostAsJsonAsync("/register", new { email = "ada@example.com", firstname = "Ada", lastname = "Lovelace" }, Ct);

    [Fact]
    public async Task ARegistrationWhoseDependencyDidNotAnswerIsAServiceUnavailableProblemWithRetryAfter()
    {
        await using var factory = WithMailFailing(new DependencyUnavailableException("ses", "SendEmail", new HttpRequestException("reset")));
        using var http = factory.CreateClient();

        using var response = await RegisterAsync(http);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(Failures.RetryAfterSeconds), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ARegistrationThatFailsForAProgrammingErrorIsAnInternalErrorThatClaimsNoOutage()
    {
        await using var factory = WithMailFailing(new InvalidOperationException("a bug"));
        using var http = factory.CreateClient();

        using var response = await RegisterAsync(http);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.DoesNotContain("did not answer", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("a bug", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMarketplaceLandingWhoseMeteringDidNotAnswerIsAServiceUnavailablePageForABrowser()
    {
        await using var factory = WithMetering(new DependencyUnavailableException("aws-marketplace", "ResolveCustomer", new TimeoutException()));
        using var http = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/marketplace")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["x-amzn-marketplace-token"] = "token-1" }),
        };
        request.Headers.Accept.ParseAdd("text/html,application/xhtml+xml,*/*;q=0.8");

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("try again", await response.Content.ReadAsStringAsync(Ct), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AMarketplaceLandingThatFailsForAProgrammingErrorIsAnInternalErrorPage()
    {
        await using var factory = WithMetering(new InvalidOperationException("a bug"));
        using var http = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/marketplace")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["x-amzn-marketplace-token"] = "token-1" }),
        };
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Null(response.Headers.RetryAfter);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<h1>Something went wrong</h1>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("did not answer", html, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnavailableDependencyIsFoundThroughWrappersAndAggregates()
    {
        var unavailable = new DependencyUnavailableException("stripe", "POST /v1/customers", new HttpRequestException());
        var wrapped = new InvalidOperationException("step", new AggregateException(new InvalidOperationException(), unavailable));

        Assert.Same(unavailable, Failures.FindUnavailable(wrapped));
        Assert.Null(Failures.FindUnavailable(new InvalidOperationException("step", new InvalidOperationException())));
    }

    private sealed class ThrowingMetering(Exception failure) : IMarketplaceMetering
    {
        public Task<ResolveCustomerOutcome> ResolveCustomerAsync(Secret registrationToken, CancellationToken cancellationToken) => Task.FromException<ResolveCustomerOutcome>(failure);

        public Task<IReadOnlyList<MeteringRecordResult>> BatchMeterUsageAsync(string productCode, IReadOnlyList<MeteringRecord> records, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }

    private sealed class ThrowingMail(Exception failure) : IEmailSender
    {
        public Task<string> SendAsync(OutgoingEmail message, CancellationToken cancellationToken) => Task.FromException<string>(failure);
    }
}
