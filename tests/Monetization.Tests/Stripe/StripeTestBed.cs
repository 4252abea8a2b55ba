using Microsoft.Extensions.DependencyInjection;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Core.Usage;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Stripe;

namespace Monetization.Tests.Stripe;

/// <summary>
/// One Stripe emulator with a product, a sum meter and a metered price, and Stripe.net and the billing adapter wired
/// through the real DI registration (short retry delays so fault tests stay quick).
/// </summary>
internal sealed class StripeTestBed : IAsyncDisposable
{
    public const string MeterEventName = "api_requests";

    private readonly ServiceProvider _services;

    private StripeTestBed(StripeEmulator emulator, ServiceProvider services, string meterId, string priceId)
    {
        Emulator = emulator;
        _services = services;
        MeterId = meterId;
        PriceId = priceId;
    }

    public StripeEmulator Emulator { get; }

    public string MeterId { get; }

    public string PriceId { get; }

    /// <summary>Stripe.net as the adapters get it: through <see cref="StripeTransport"/>.</summary>
    public StripeClient Stripe => _services.GetRequiredService<StripeClient>();

    public IBilling Billing => _services.GetRequiredService<IBilling>();

    public IUsageMeter Meter => _services.GetRequiredService<IUsageMeter>();

    public static RequestOptions Key(string idempotencyKey) => new() { IdempotencyKey = idempotencyKey };

    public static async Task<StripeTestBed> StartAsync(
        Action<StripeOptions>? configure = null,
        StripeEmulatorOptions? emulatorOptions = null,
        CancellationToken cancellationToken = default)
    {
        var emulator = await StripeEmulator.StartAsync(emulatorOptions, cancellationToken);
        try
        {
            string meterId;
            string priceId;
            await using (var bootstrap = Services(emulator, billing: false, null, null))
            {
                (meterId, priceId) = await StripeSetup.CreateMeteredPriceAsync(
                    bootstrap.GetRequiredService<StripeClient>(), "API access", MeterEventName, 0.5m, "bootstrap", cancellationToken);
            }

            return new StripeTestBed(emulator, Services(emulator, billing: true, priceId, configure), meterId, priceId);
        }
        catch
        {
            await emulator.DisposeAsync();
            throw;
        }
    }

    public static ServiceProvider Services(StripeEmulator emulator, bool billing, string? priceId, Action<StripeOptions>? configure)
    {
        void Configure(StripeOptions options)
        {
            options.SecretKey = new Secret(emulator.SecretKey);
            options.ApiBase = emulator.Endpoint;
            options.MeterEventsBase = emulator.Endpoint;
            options.PriceId = priceId ?? string.Empty;
            options.MeterEventName = MeterEventName;
            options.AttemptTimeout = TimeSpan.FromSeconds(10);
            options.MaxRetries = 2;
            options.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
            options.RetryMaxDelay = TimeSpan.FromMilliseconds(50);
            options.RateLimitDelay = TimeSpan.FromMilliseconds(50);
            configure?.Invoke(options);
        }

        var services = new ServiceCollection();
        services.AddLogging();
        if (billing)
        {
            services.AddStripeBilling(Configure);
        }
        else
        {
            services.AddStripeClient(Configure);
        }

        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
    }

    public int RequestsWithKey(string idempotencyKey) => Emulator.Requests.Count(r => r.IdempotencyKey == idempotencyKey);

    public async ValueTask DisposeAsync()
    {
        await _services.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}
