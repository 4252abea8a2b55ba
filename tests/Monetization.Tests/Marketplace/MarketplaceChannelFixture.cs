using Monetization.Tests.Infrastructure;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Aws;
using Monetization.Emulators;
using Monetization.Emulators.Marketplace;
using Monetization.Emulators.Recording;
using Monetization.Portal.Hosting;
using Monetization.SubscriptionEvents;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// The Marketplace channel on this machine: moto_server, the Marketplace emulator, the Portal on a real loopback
/// port, the SubscriptionEvents function in process as the emulator's event sink and the key minting consumer on the
/// key minting queue. Every log line of both hosts is
/// captured so tests can prove no token reaches one. Tests share it and use a fresh buyer each.
/// </summary>
public sealed partial class MarketplaceChannelFixture : IAsyncLifetime
{
    private WebApplication? _portal;
    private ServiceProvider? _functionServices;
    private RecordedHost? _recordedFunction;
    private RecordedHost? _recordedPortal;
    private Accounts.KeyMintingConsumer? _keyMinting;

    public OfflineEnvironment Environment { get; private set; } = null!;

    public MarketplaceEmulator Marketplace => Environment.Marketplace;

    public CapturedLogs Logs { get; } = new();

    public Function Function { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var cancel = TestContext.Current.CancellationToken;
        Environment = await OfflineEnvironment.StartAsync(cancel);
        _recordedFunction = await RecordedHost.StartAsync(RecordedHost.SubscriptionEvents, Environment, Environment.SubscriptionEventsConfiguration(), cancel);
        _recordedPortal = await RecordedHost.StartAsync(RecordedHost.Portal, Environment, Environment.PortalConfiguration(), cancel);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(_recordedFunction.Configuration).Build();
        _functionServices = SubscriptionEventsServices.Build(configuration, logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        Function = _functionServices.GetRequiredService<Function>();
        _keyMinting = Accounts.KeyMintingConsumer.Start(Environment);

        var url = $"http://127.0.0.1:{FreePort.Next()}";
        _portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(_recordedPortal.Configuration);
            builder.WebHost.UseUrls(url);
            builder.Logging.AddProvider(Logs);
            builder.Logging.SetMinimumLevel(LogLevel.Trace);

            // An operator turning the framework's own logging up must not bring the token into the logs either.
            builder.Configuration["Logging:LogLevel:Default"] = "Trace";
            builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
            builder.Configuration["Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics"] = "Trace";
            builder.Services.PostConfigure<AwsClientOptions>(AwsServiceCollectionExtensions.MarketplaceMeteringOptionsName, o =>
            {
                o.MaxRetries = 2;
                o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
                o.RetryMaxDelay = TimeSpan.FromMilliseconds(5);
            });
        });
        await _portal.StartAsync(cancel);
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
        Marketplace.LandingUrl = new Uri(url + "/marketplace");
        Marketplace.EventSink = Function.ProcessAsync;
    }

    /// <summary>The API key value a key page shows, decoded.</summary>
    public static string? KeyOnPage(string html) =>
        KeyInput().Match(html) is { Success: true } match ? System.Net.WebUtility.HtmlDecode(match.Groups[1].Value) : null;

    public async Task<IReadOnlyList<(string Id, string Name, bool Enabled, string Value)>> KeysNamedAsync(string name) =>
        [.. (await Environment.ApiKeysAsync(TestContext.Current.CancellationToken)).Where(k => k.Name == name)];

    /// <summary>
    /// The buyer's one key once the key minting consumer has made it and, when <paramref name="granted"/>, given it
    /// access (enabled, in the Marketplace plan): events and landings only ask for a buyer's first key.
    /// </summary>
    public async Task<(string Id, string Name, bool Enabled, string Value)> KeyMintedAsync(string name, bool granted = true)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var keys = await KeysNamedAsync(name);
        while (waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            Assert.True(keys.Count <= 1, $"{keys.Count} keys named {name}");
            if (keys.Count == 1 && (!granted || (keys[0].Enabled && (await MarketplacePlanKeyIdsAsync()).Contains(keys[0].Id))))
            {
                return keys[0];
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
            keys = await KeysNamedAsync(name);
        }

        Assert.Fail($"no{(granted ? " granted" : string.Empty)} key named {name} after 30 s: {keys.Count} keys");
        return default;
    }

    /// <summary>The keys of a buyer known by AWS account + license, by the name the flows give them.</summary>
    public Task<IReadOnlyList<(string Id, string Name, bool Enabled, string Value)>> KeysNamedByLicenseAsync(string accountId, string licenseArn) =>
        KeysNamedAsync(LicenseKeyName(accountId, licenseArn));

    /// <summary>The name the flows give the key of a buyer known by AWS account + license.</summary>
    public static string LicenseKeyName(string accountId, string licenseArn) =>
        $"marketplace-acct-{accountId}-{licenseArn[(licenseArn.LastIndexOf(':') + 1)..]}";

    public Task<IReadOnlyList<string>> MarketplacePlanKeyIdsAsync() =>
        Environment.UsagePlanKeyIdsAsync(Environment.MarketplaceUsagePlanId, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        if (_portal is not null)
        {
            await _portal.DisposeAsync();
        }

        if (_functionServices is not null)
        {
            await _functionServices.DisposeAsync();
        }

        if (_keyMinting is not null)
        {
            await _keyMinting.DisposeAsync();
        }

        foreach (var recorded in new[] { _recordedPortal, _recordedFunction })
        {
            if (recorded is not null)
            {
                await recorded.DisposeAsync();
            }
        }

        if (Environment is not null)
        {
            await Environment.DisposeAsync();
        }
    }

    [GeneratedRegex("id=\"api-key\"[^>]*>([^<]*)<")]
    private static partial Regex KeyInput();
}
