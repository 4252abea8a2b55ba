using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Monetization.Core.Billing;
using Monetization.Core.Usage;
using Monetization.Http;
using Stripe;

namespace Monetization.Stripe;

public static class StripeServiceCollectionExtensions
{
    /// <summary>The named <see cref="HttpClient"/> Stripe.net sends through, with <see cref="StripeTransport"/> under it.</summary>
    public const string HttpClientName = "stripe";

    /// <summary>
    /// One Stripe.net <see cref="StripeClient"/> for the process, sending through <see cref="StripeTransport"/> (Stripe.net's
    /// own retries and telemetry off), its options validated when the host starts.
    /// </summary>
    public static IServiceCollection AddStripeClient(this IServiceCollection services, Action<StripeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<StripeOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StripeOptions>, StripeOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddTransient<StripeTransport>();

        // Attempts are timed by the transport; a whole-call HttpClient timeout would cut retries short.
        services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan).AddHttpMessageHandler<StripeTransport>().LogCallsAs("stripe");
        services.TryAddSingleton(sp => Create(
            sp.GetRequiredService<IOptions<StripeOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)));
        return services;
    }

    /// <summary>
    /// <see cref="IBilling"/> on Stripe, and <see cref="IUsageMeter"/> for the usage of subscriptions that stop being
    /// paid for; also requires <see cref="StripeOptions.PriceId"/> and <see cref="StripeOptions.MeterEventName"/>.
    /// </summary>
    public static IServiceCollection AddStripeBilling(this IServiceCollection services, Action<StripeOptions> configure)
    {
        services.AddStripeClient(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StripeOptions>, StripeBillingOptionsValidator>());
        // One per process: it keeps the metered price it read (a price's amount never changes), which every account page
        // of a paying subscriber and every spend cap prices its estimate with.
        services.TryAddSingleton<IBilling, StripeBilling>();
        services.TryAddSingleton<IUsageMeter, StripeUsageMeter>();
        return services;
    }

    /// <summary><see cref="IUsageMeter"/> on Stripe's billing meter; requires <see cref="StripeOptions.MeterEventName"/>.</summary>
    public static IServiceCollection AddStripeUsageMeter(this IServiceCollection services, Action<StripeOptions> configure)
    {
        services.AddStripeClient(configure);
        services.TryAddSingleton<IUsageMeter, StripeUsageMeter>();
        return services;
    }

    /// <summary>A Stripe.net client on <paramref name="http"/> (which should send through <see cref="StripeTransport"/>).</summary>
    public static StripeClient Create(StripeOptions options, HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(options);
        var key = options.SecretKey ?? throw new InvalidOperationException("Stripe:SecretKey is not configured.");
        return new StripeClient(new StripeClientOptions
        {
            ApiKey = key.Reveal(),
            ApiBase = StripeOptions.BaseUrl(options.ApiBase),
            MeterEventsBase = StripeOptions.BaseUrl(options.MeterEventsBase),
            HttpClient = new SystemNetHttpClient(http, maxNetworkRetries: 0, appInfo: null, enableTelemetry: false),
        });
    }
}
