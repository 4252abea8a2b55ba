using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Monetization.Aws;
using Monetization.Emulators;
using Monetization.Emulators.Recording;
using Monetization.Portal.Hosting;
using Monetization.Stripe;
using Monetization.Tests.Accounts;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Registration;

/// <summary>
/// The Portal on a real loopback port, wired to moto_server (through the fault proxy) and the Stripe emulator, with
/// short timeouts and retry delays so fault tests stay fast, and every log line captured.
/// </summary>
public class PortalFixture : IAsyncLifetime
{
    private WebApplication? _portal;
    private RecordedHost? _recorded;
    private KeyMintingConsumer? _minting;

    public OfflineEnvironment Environment { get; private set; } = null!;

    public CapturedLogs Logs { get; } = new();

    public HttpClient Http { get; private set; } = null!;

    /// <summary>The key minting function, draining the queue the Portal asks for first keys on.</summary>
    public KeyMintingConsumer Minting => _minting ?? throw new InvalidOperationException("The fixture has not started.");

    /// <summary>The running Portal's services, for flows no endpoint reaches yet.</summary>
    public IServiceProvider Services => _portal?.Services ?? throw new InvalidOperationException("The fixture has not started.");

    public async ValueTask InitializeAsync()
    {
        Environment = await OfflineEnvironment.StartAsync(TestContext.Current.CancellationToken);
        _recorded = await RecordedHost.StartAsync(RecordedHost.Portal, Environment, Environment.PortalConfiguration(), TestContext.Current.CancellationToken);
        var settings = await ConfigureAsync(Environment);
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        _portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(_recorded.Configuration);

            // Invoice collection starts access as soon as a signed-in subscriber subscribes; Checkout has its own fixture.
            builder.Configuration["Monetization:PaymentCollection"] = "Invoice";
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Configuration["Monetization:RegisterPermitsPerMinute"] = "100000";
            builder.Configuration["Monetization:AccountPermitsPerMinute"] = "100000";

            // Tests of one fixture share the ledger's link counters; the limits themselves are proven on the flow.
            builder.Configuration["Monetization:SignInLinksPerAddressPerHour"] = "1000";
            builder.Configuration["Monetization:MaxOutstandingSignInLinks"] = "10000000";
            builder.WebHost.UseUrls(url);
            ConfigureServices(builder.Services);
            builder.Logging.AddProvider(Logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);

            // Tests read the captured lines; the same lines as JSON on the console are read by no one.
            builder.Logging.AddFilter<ConsoleLoggerProvider>(null, LogLevel.None);
            builder.Services.PostConfigure<AwsClientOptions>(AwsServiceCollectionExtensions.ApiGatewayOptionsName, o =>
            {
                o.Timeout = TimeSpan.FromSeconds(2);
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(5);
            });
            builder.Services.PostConfigure<StripeOptions>(o =>
            {
                o.AttemptTimeout = TimeSpan.FromSeconds(2);
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(5);
                o.RateLimitDelay = TimeSpan.FromMilliseconds(5);
            });
        });
        await _portal.StartAsync(TestContext.Current.CancellationToken);
        _minting = KeyMintingConsumer.Start(Environment);
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Every e-mail the Portal sent through SES (moto).</summary>
    public Inbox Mail => new(Environment.Mailbox);

    public Task<HttpResponseMessage> RequestLinkAsync(string email, string firstName = "Ada", string lastName = "Lovelace") =>
        Http.PostAsJsonAsync("/register", new { email, firstname = firstName, lastname = lastName }, TestContext.Current.CancellationToken);

    public AccountBrowser NewBrowser() => new(Http.BaseAddress!);

    /// <summary>A person asks for a link, opens it from their mailbox and confirms: their browser, signed in.</summary>
    public async Task<AccountBrowser> SignInAsync(string email, string firstName = "Ada", string lastName = "Lovelace")
    {
        var browser = NewBrowser();
        using (var requested = await browser.RequestLinkAsync(email, firstName, lastName))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, requested.StatusCode);
        }

        using var confirmed = await browser.ConfirmAsync(Mail.LinkFor(email));
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, confirmed.StatusCode);
        Assert.Equal("/account", confirmed.Headers.Location?.OriginalString);
        return browser;
    }

    /// <summary>
    /// Signs in and subscribes with this fixture's invoice collection, which starts access at once: the browser, and
    /// the key the account page showed once.
    /// </summary>
    public async Task<(AccountBrowser Browser, string KeyId, string KeyValue)> SignUpAsync(string email, string firstName = "Ada", string lastName = "Lovelace")
    {
        var browser = await SignInAsync(email, firstName, lastName);
        using (var subscribed = await browser.PressAsync("/account/subscribe"))
        {
            Assert.True(subscribed.StatusCode == System.Net.HttpStatusCode.SeeOther, $"{subscribed.StatusCode}: {await subscribed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)}");
            Assert.Equal("/account", subscribed.Headers.Location?.OriginalString);
        }

        var key = await MintedKeyAsync(browser) ?? throw new InvalidOperationException("The account page showed no key.");
        return (browser, key.Id, key.Value);
    }

    /// <summary>
    /// The key the account page shows once the key minting queue's consumer made it, after the consumer finished
    /// everything it had (the customer's link to the key is made just after the key is recorded).
    /// </summary>
    public async Task<(string Id, string Value)?> MintedKeyAsync(AccountBrowser browser, TimeSpan? within = null)
    {
        ArgumentNullException.ThrowIfNull(browser);
        var key = await browser.KeyOnceMintedAsync(within);
        await Minting.Source.WhenDrainedAsync(within ?? TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return key;
    }

    /// <summary>
    /// What the outside world and the ledger hold once the key minting queue's consumer has finished what earlier
    /// tests queued, so that a count compared before and after a request measures that request alone.
    /// </summary>
    internal async Task<Footprint> SettledFootprintAsync()
    {
        await Minting.Source.WhenDrainedAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        return await Footprint.ReadAsync(Environment);
    }

    /// <summary>Where a fixture for one test class changes settings of the real Portal.</summary>
    protected virtual ValueTask<IReadOnlyDictionary<string, string?>> ConfigureAsync(OfflineEnvironment environment) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?>());

    /// <summary>Where a fixture for one test class replaces a service of the real Portal.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    protected virtual ValueTask DisposeExtrasAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        Http?.Dispose();
        if (_portal is not null)
        {
            await _portal.DisposeAsync();
        }

        if (_minting is not null)
        {
            await _minting.DisposeAsync();
        }

        await DisposeExtrasAsync();
        if (_recorded is not null)
        {
            await _recorded.DisposeAsync();
        }

        if (Environment is not null)
        {
            await Environment.DisposeAsync();
        }
    }
}
