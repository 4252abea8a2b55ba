using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
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
    [InlineData(false, "/usageplans/", "Invoice")]
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
        await using var portal = new PortalFactory(settings);
        using var http = portal.CreateClient();
        var faults = stripe ? _environment.Stripe.Faults : _environment.ApiGateway.Faults;
        faults.Add(new FaultRule { Method = "POST", PathPrefix = pathPrefix, Kind = FaultKind.Timeout });
        const string email = "slow@example.com";

        var clock = Stopwatch.StartNew();
        using var response = await http.PostAsJsonAsync("/register", new { email, firstname = "Ada", lastname = "Lovelace" }, Ct);
        clock.Stop();
        faults.Clear();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(BudgetSeconds) - TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(BudgetSeconds + ReserveSeconds));
        (await RegistrationState.ReadAsync(_environment, email)).AssertNoAccessAndNoDuplicates();
    }
}
