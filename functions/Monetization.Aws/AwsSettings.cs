using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Monetization.Aws;

/// <summary>
/// Where a host reaches AWS, bound from the <c>Aws</c> section (environment: <c>Aws__*</c>). Everything unset follows
/// the standard settings: <c>AWS_REGION</c>, <c>AWS_ENDPOINT_URL_&lt;SERVICE&gt;</c>, <c>AWS_ENDPOINT_URL</c>, the
/// default credential chain. One binding for every host (<see cref="AwsSettingsServiceCollectionExtensions.AddAwsSettings"/>),
/// so they all honour the same settings; the AWS clients and the ledger read it from the container.
/// </summary>
public sealed class AwsSettings
{
    public const string Section = "Aws";

    public string? Region { get; set; }

    /// <summary>One endpoint for every AWS service but Metering (an emulator); <c>AWS_ENDPOINT_URL</c> does the same from the environment.</summary>
    [HttpUrl(ErrorMessage = "Aws:ServiceUrl must be an absolute http(s) URL.")]
    public Uri? ServiceUrl { get; set; }

    /// <summary>API Gateway's endpoint alone (like <c>AWS_ENDPOINT_URL_API_GATEWAY</c>); wins over <see cref="ServiceUrl"/>.</summary>
    [HttpUrl(ErrorMessage = "Aws:ApiGatewayServiceUrl must be an absolute http(s) URL.")]
    public Uri? ApiGatewayServiceUrl { get; set; }

    /// <summary>Marketplace Metering's endpoint (like <c>AWS_ENDPOINT_URL_MARKETPLACE_METERING</c>); <see cref="ServiceUrl"/> is not used for it.</summary>
    [HttpUrl(ErrorMessage = "Aws:MarketplaceMeteringServiceUrl must be an absolute http(s) URL.")]
    public Uri? MarketplaceMeteringServiceUrl { get; set; }

    /// <summary>SES's endpoint alone (like <c>AWS_ENDPOINT_URL_SESV2</c>); wins over <see cref="ServiceUrl"/>.</summary>
    [HttpUrl(ErrorMessage = "Aws:SesServiceUrl must be an absolute http(s) URL.")]
    public Uri? SesServiceUrl { get; set; }

    /// <summary>SQS's endpoint alone (like <c>AWS_ENDPOINT_URL_SQS</c>); wins over <see cref="ServiceUrl"/>.</summary>
    [HttpUrl(ErrorMessage = "Aws:SqsServiceUrl must be an absolute http(s) URL.")]
    public Uri? SqsServiceUrl { get; set; }

    /// <summary>
    /// Binds and checks the <c>Aws</c> section outside a container: only for configuration sources, which are built
    /// before any container exists (the Stripe secret is read from Secrets Manager while configuration is built).
    /// </summary>
    /// <exception cref="InvalidOperationException">A setting is malformed; the message names it.</exception>
    public static AwsSettings Bootstrap(IConfiguration configuration)
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

        var result = new AwsSettingsValidator().Validate(null, settings);
        return result.Failed ? throw new InvalidOperationException(result.FailureMessage) : settings;
    }

    /// <summary>The endpoint set here for <paramref name="service"/>, or null to follow the standard settings.</summary>
    public Uri? EndpointFor(AwsService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        if (service == AwsService.MarketplaceMetering)
        {
            return MarketplaceMeteringServiceUrl;
        }

        if (service == AwsService.Ses)
        {
            return SesServiceUrl ?? ServiceUrl;
        }

        if (service == AwsService.Sqs)
        {
            return SqsServiceUrl ?? ServiceUrl;
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
}

/// <summary>An absolute http(s) URL, or unset.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class HttpUrlAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) =>
        value is null || (value is Uri url && url.IsAbsoluteUri && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp));
}

/// <summary>Checks the settings without reflection (generated from the attributes).</summary>
[OptionsValidator]
public sealed partial class AwsSettingsValidator : IValidateOptions<AwsSettings>;

public static class AwsSettingsServiceCollectionExtensions
{
    /// <summary>Binds <see cref="AwsSettings"/> from the <c>Aws</c> section once, checked when the host starts.</summary>
    public static IServiceCollection AddAwsSettings(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<AwsSettings>)))
        {
            return services;
        }

        services.AddOptions<AwsSettings>().BindConfiguration(AwsSettings.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AwsSettings>, AwsSettingsValidator>());
        return services;
    }
}
