using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Portal;

/// <summary>
/// The Portal in the test server: no port, one host per test. Settings go in as host settings so everything the
/// Portal reads while it is built sees them; <paramref name="services"/> replaces what a test needs to control.
/// </summary>
public sealed class PortalFactory(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? services = null)
    : WebApplicationFactory<Program>
{
    public CapturedLogs Logs { get; } = new();

    /// <summary>Settings that let the Portal start without reaching anything; calls to AWS or Stripe would fail.</summary>
    public static Dictionary<string, string?> Offline() => new(StringComparer.Ordinal)
    {
        ["Aws:Region"] = "us-east-1",
        ["Aws:ServiceUrl"] = "http://127.0.0.1:9/",
        ["Monetization:LedgerTableName"] = "ledger",
        ["Monetization:StripeUsagePlanId"] = "plan",
        ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/monetization-key-mints",
        ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
        ["Monetization:MarketplaceProductCodes"] = "prod-1",
        ["Monetization:ApiBaseUrl"] = "https://api.example.com/prod",
        ["Stripe:SecretKey"] = "sk_test_factory",
        ["Stripe:WebhookSecret"] = "whsec_factory",
        ["Stripe:ApiBase"] = "http://127.0.0.1:9/",
        ["Stripe:PriceId"] = "price_1",
        ["Stripe:MeterEventName"] = "api_requests",
        ["Email:FromAddress"] = "no-reply@example.com",
    };

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // The AWS SDK reads the default credential chain: name the emulator credentials, whichever test ran first.
        Monetization.Emulators.OfflineEnvironment.UseLocalCredentials();
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        // Tests read the captured lines; the same lines as JSON on the console are read by no one.
        builder.ConfigureLogging(logging => logging.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace).AddFilter<ConsoleLoggerProvider>(null, LogLevel.None));
        if (services is not null)
        {
            builder.ConfigureTestServices(services);
        }
    }
}
