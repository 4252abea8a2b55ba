using Microsoft.Extensions.Configuration;

namespace Monetization.Aws;

/// <summary>
/// Where a host reaches AWS, bound from the <c>Aws</c> section (environment: <c>Aws__*</c>). Everything unset follows
/// the standard settings: <c>AWS_REGION</c>, <c>AWS_ENDPOINT_URL_&lt;SERVICE&gt;</c>, <c>AWS_ENDPOINT_URL</c>, the
/// default credential chain. One binding for every host, so they all honour the same settings.
/// </summary>
public sealed class AwsSettings
{
    public const string Section = "Aws";

    public string? Region { get; set; }

    /// <summary>One endpoint for every AWS service but Metering (an emulator); <c>AWS_ENDPOINT_URL</c> does the same from the environment.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>API Gateway's endpoint alone (like <c>AWS_ENDPOINT_URL_API_GATEWAY</c>); wins over <see cref="ServiceUrl"/>.</summary>
    public Uri? ApiGatewayServiceUrl { get; set; }

    /// <summary>Marketplace Metering's endpoint (like <c>AWS_ENDPOINT_URL_MARKETPLACE_METERING</c>); <see cref="ServiceUrl"/> is not used for it.</summary>
    public Uri? MarketplaceMeteringServiceUrl { get; set; }

    /// <summary>Binds and checks the <c>Aws</c> section.</summary>
    /// <exception cref="InvalidOperationException">A setting is malformed; the message names it.</exception>
    public static AwsSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        AwsSettings settings;
        try
        {
            settings = configuration.GetSection(Section).Get<AwsSettings>() ?? new AwsSettings();
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"The {Section} settings are malformed: {e.Message}", e);
        }

        var errors = settings.Validate();
        return errors.Count == 0 ? settings : throw new InvalidOperationException(string.Join(" ", errors));
    }

    /// <summary>The endpoint set here for <paramref name="service"/>, or null to follow the standard settings.</summary>
    public Uri? EndpointFor(AwsService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service == AwsService.MarketplaceMetering)
        {
            return MarketplaceMeteringServiceUrl;
        }

        return service == AwsService.ApiGateway ? ApiGatewayServiceUrl ?? ServiceUrl : ServiceUrl;
    }

    /// <summary>Applies the region and <paramref name="service"/>'s endpoint to client options, where set.</summary>
    public void ApplyTo(AwsService service, AwsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Region = string.IsNullOrWhiteSpace(Region) ? options.Region : Region.Trim();
        options.ServiceUrl = EndpointFor(service) ?? options.ServiceUrl;
    }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        foreach (var (name, url) in new[]
                 {
                     (nameof(ServiceUrl), ServiceUrl),
                     (nameof(ApiGatewayServiceUrl), ApiGatewayServiceUrl),
                     (nameof(MarketplaceMeteringServiceUrl), MarketplaceMeteringServiceUrl),
                 })
        {
            if (url is not null && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
            {
                errors.Add($"{Section}:{name} must be an absolute http(s) URL; it is '{url.OriginalString}'.");
            }
        }

        return errors;
    }
}
