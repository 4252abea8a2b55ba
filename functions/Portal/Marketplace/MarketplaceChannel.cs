using Microsoft.Extensions.DependencyInjection.Extensions;
using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Core.Accounts;
using Monetization.Core.Marketplace;
using Monetization.Portal.Hosting;

namespace Monetization.Portal.Marketplace;

/// <summary>The Marketplace channel's Portal settings, bound from the <c>Monetization</c> section.</summary>
public sealed class MarketplaceChannelOptions
{
    [Required(ErrorMessage = "Monetization:MarketplaceUsagePlanId is required: the usage plan listed on AWS Marketplace.")]
    public string MarketplaceUsagePlanId { get; set; } = string.Empty;

    /// <summary>
    /// Comma-separated, as an environment variable carries a list. Empty for a seller who only sells through Stripe:
    /// the landing then refuses every product as one we do not sell.
    /// </summary>
    public string MarketplaceProductCodes { get; set; } = string.Empty;
}

public static class MarketplaceChannel
{
    /// <summary>
    /// The landing flow and its Metering client. The client's endpoint is <c>Aws:MarketplaceMeteringServiceUrl</c>,
    /// else <c>AWS_ENDPOINT_URL_MARKETPLACE_METERING</c> / <c>AWS_ENDPOINT_URL</c>, else the public one; it deliberately
    /// ignores <c>Aws:ServiceUrl</c>, which points at an emulator that has no Metering API.
    /// </summary>
    public static IServiceCollection AddMarketplaceChannel(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MarketplaceChannelOptions>()
            .BindConfiguration(PortalOptions.Section)
            .ValidateDataAnnotations()
            .Validate(
                o => string.IsNullOrWhiteSpace(o.MarketplaceProductCodes) || MarketplaceOptions.SplitProductCodes(o.MarketplaceProductCodes).Count > 0,
                "Monetization:MarketplaceProductCodes names no product code.")
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var channel = sp.GetRequiredService<IOptions<MarketplaceChannelOptions>>().Value;
            return new MarketplaceOptions
            {
                UsagePlanId = channel.MarketplaceUsagePlanId,
                ProductCodes = MarketplaceOptions.SplitProductCodes(channel.MarketplaceProductCodes),
            };
        });

        services.AddAwsSettings();
        services.AddAwsMarketplaceMetering();
        services.AddTransient<MarketplaceAccess>();
        services.AddTransient<MarketplaceIdentity>();
        services.TryAddTransient<KeyReveal>();
        services.AddTransient<MarketplaceLanding>();
        return services;
    }
}
