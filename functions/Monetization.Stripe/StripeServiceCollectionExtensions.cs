using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Monetization.Core.Billing;
using Monetization.Core.Usage;

namespace Monetization.Stripe;

public static class StripeServiceCollectionExtensions
{
    /// <summary>
    /// The typed <see cref="StripeClient"/> with Stripe's retry rules, its options validated when the host starts.
    /// </summary>
    public static IHttpClientBuilder AddStripeClient(this IServiceCollection services, Action<StripeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<StripeOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StripeOptions>, StripeOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddTransient<StripeRetryHandler>();

        // Attempts are timed by the retry handler; a whole-call HttpClient timeout would cut retries short.
        return services
            .AddHttpClient<StripeClient>(http => http.Timeout = Timeout.InfiniteTimeSpan)
            .AddHttpMessageHandler<StripeRetryHandler>();
    }

    /// <summary>
    /// <see cref="IBilling"/> on Stripe, and <see cref="IUsageMeter"/> for the usage of subscriptions that stop being
    /// paid for; also requires <see cref="StripeOptions.PriceId"/> and <see cref="StripeOptions.MeterEventName"/>.
    /// </summary>
    public static IServiceCollection AddStripeBilling(this IServiceCollection services, Action<StripeOptions> configure)
    {
        services.AddStripeClient(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StripeOptions>, StripeBillingOptionsValidator>());
        services.TryAddTransient<IBilling, StripeBilling>();
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
}
