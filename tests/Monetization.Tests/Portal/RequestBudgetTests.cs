using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Core.Mail;
using Monetization.Tests.Accounts;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Tests.Registration;

namespace Monetization.Tests.Portal;

/// <summary>
/// A request's outside calls share one budget inside the function's timeout, with production's per-call timeouts
/// and retries: a dependency that hangs costs the budget, not 3 x 20 s, and the clean-up still runs in the reserve.
/// </summary>
public sealed class RequestBudgetTests : IAsyncLifetime
{
    private const int BudgetSeconds = 2;
    private const int ReserveSeconds = 3;

    private OfflineEnvironment _environment = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _environment = await OfflineEnvironment.StartAsync(Ct);

    public async ValueTask DisposeAsync() => await _environment.DisposeAsync();

    [Theory]
    [InlineData(true, "/v1/subscriptions", "Invoice")]
    [InlineData(true, "/v1/customers", "Invoice")]
    [InlineData(true, "/v1/customers", "Checkout")]
    [InlineData(true, "/v1/checkout/sessions", "Checkout")]
    public async Task ADependencyThatHangsAnswers503WithinTheBudgetAndLeavesNoAccess(bool stripe, string pathPrefix, string paymentCollection)
    {
        var settings = new Dictionary<string, string?>(_environment.PortalConfiguration())
        {
            ["Monetization:PaymentCollection"] = paymentCollection,
            ["Monetization:RequestBudgetSeconds"] = BudgetSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Monetization:CleanupReserveSeconds"] = ReserveSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Monetization:ApiBaseUrl"] = "https://api.example.com/prod",
        };
        var mail = new CapturedMail();
        await using var portal = new PortalFactory(settings, services => services.AddSingleton<IEmailSender>(mail));
        using var browser = new AccountBrowser(portal.CreateClient(new() { AllowAutoRedirect = false }));
        const string email = "slow@example.com";
        using (var requested = await browser.RequestLinkAsync(email))
        {
            Assert.Equal(HttpStatusCode.Accepted, requested.StatusCode);
        }

        using (var confirmed = await browser.ConfirmAsync(mail.LinkFor(email)))
        {
            Assert.Equal(HttpStatusCode.SeeOther, confirmed.StatusCode);
        }

        var page = await browser.AccountPageAsync();
        var faults = stripe ? _environment.Stripe.Faults : _environment.ApiGateway.Faults;
        faults.Add(new FaultRule { Method = "POST", PathPrefix = pathPrefix, Kind = FaultKind.Timeout });

        var clock = Stopwatch.StartNew();
        using var response = await browser.PostFormAsync("/account/subscribe", page);
        clock.Stop();
        faults.Clear();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(BudgetSeconds) - TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(BudgetSeconds + ReserveSeconds));
        (await RegistrationState.ReadAsync(_environment, email)).AssertNoAccessAndNoDuplicates();
    }
}
