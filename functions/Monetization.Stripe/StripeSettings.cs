using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Monetization.Stripe;

/// <summary>
/// The <c>Stripe</c> section as configured (environment: <c>Stripe__*</c>; in AWS the keys come from the secret named
/// by <see cref="SecretArn"/>). Bound once by <see cref="StripeSettingsServiceCollectionExtensions.AddStripeSettings"/>;
/// <see cref="StripeOptions"/> is made from it, the key wrapped as a <see cref="Core.Secret"/>.
/// </summary>
public sealed class StripeSettings
{
    public const string Section = "Stripe";

    public string? SecretArn { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>The signing secret (<c>whsec_…</c>) of the webhook endpoint Stripe delivers to <c>/stripe/webhook</c>.</summary>
    public string? WebhookSecret { get; set; }

    public string PriceId { get; set; } = string.Empty;

    public string MeterEventName { get; set; } = string.Empty;

    public Uri? ApiBase { get; set; }

    public Uri? MeterEventsBase { get; set; }

    /// <summary>Redacted: the keys never reach a log line.</summary>
    public override string ToString() => $"StripeSettings {{ PriceId = {PriceId}, MeterEventName = {MeterEventName}, SecretKey = {(SecretKey is null ? "unset" : "***")} }}";
}

public static class StripeSettingsServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="StripeSettings"/> from the <c>Stripe</c> section and makes <see cref="StripeOptions"/> from it;
    /// call before <see cref="StripeServiceCollectionExtensions.AddStripeBilling"/>.
    /// </summary>
    public static OptionsBuilder<StripeSettings> AddStripeSettings(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<StripeOptions>().Configure<IOptions<StripeSettings>>((o, bound) =>
        {
            var stripe = bound.Value;
            o.SecretKey = stripe.SecretKey is { Length: > 0 } key ? new Core.Secret(key) : null;
            o.PriceId = stripe.PriceId;
            o.MeterEventName = stripe.MeterEventName;
            o.ApiBase = stripe.ApiBase ?? o.ApiBase;
            o.MeterEventsBase = stripe.MeterEventsBase ?? o.MeterEventsBase;
        });
        return services.AddOptions<StripeSettings>().BindConfiguration(StripeSettings.Section);
    }
}
