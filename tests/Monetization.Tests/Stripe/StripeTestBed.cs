using Microsoft.Extensions.DependencyInjection;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Emulators.Stripe;
using Monetization.Stripe;
using Monetization.Stripe.Operations;

namespace Monetization.Tests.Stripe;

/// <summary>
/// One Stripe emulator with a product, a sum meter and a metered price, and the client and billing adapter wired
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

    public StripeClient Client => _services.GetRequiredService<StripeClient>();

    public IBilling Billing => _services.GetRequiredService<IBilling>();

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
                var client = bootstrap.GetRequiredService<StripeClient>();
                var product = await client.CreateProductAsync(new CreateProduct("API access"), "bootstrap-product", cancellationToken);
                var meter = await client.CreateMeterAsync(new CreateMeter("API requests", MeterEventName), "bootstrap-meter", cancellationToken);
                var price = await client.CreateMeteredPriceAsync(new CreateMeteredPrice(product.Id, meter.Id, "usd", "0.5"), "bootstrap-price", cancellationToken);
                meterId = meter.Id;
                priceId = price.Id;
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
