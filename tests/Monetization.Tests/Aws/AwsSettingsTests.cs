using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monetization.Aws;

namespace Monetization.Tests.Aws;

/// <summary>The one binding of the <c>Aws</c> section every host uses.</summary>
public sealed class AwsSettingsTests
{
    private static AwsSettings Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        using var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddAwsSettings().BuildServiceProvider();
        return provider.GetRequiredService<IOptions<AwsSettings>>().Value;
    }

    [Fact]
    public void ApiGatewayServiceUrlWinsOverServiceUrlForApiGatewayOnly()
    {
        var settings = Bind(("Aws:ServiceUrl", "http://127.0.0.1:5000"), ("Aws:ApiGatewayServiceUrl", "http://127.0.0.1:6000"));

        Assert.Equal(new Uri("http://127.0.0.1:6000"), settings.EndpointFor(AwsService.ApiGateway));
        Assert.Equal(new Uri("http://127.0.0.1:5000"), settings.EndpointFor(AwsService.SecretsManager));
    }

    [Fact]
    public void SesServiceUrlWinsOverServiceUrlForSesOnly()
    {
        var settings = Bind(("Aws:ServiceUrl", "http://127.0.0.1:5000"), ("Aws:SesServiceUrl", "http://127.0.0.1:7000"));

        Assert.Equal(new Uri("http://127.0.0.1:7000"), settings.EndpointFor(AwsService.Ses));
        Assert.Equal(new Uri("http://127.0.0.1:5000"), settings.EndpointFor(AwsService.ApiGateway));
        Assert.Equal(new Uri("http://127.0.0.1:5000"), Bind(("Aws:ServiceUrl", "http://127.0.0.1:5000")).EndpointFor(AwsService.Ses));
    }

    [Fact]
    public void MarketplaceMeteringIgnoresServiceUrl()
    {
        var settings = Bind(("Aws:ServiceUrl", "http://127.0.0.1:5000"));

        Assert.Null(settings.EndpointFor(AwsService.MarketplaceMetering));
    }

    [Fact]
    public void UnsetSettingsLeaveClientOptionsToTheStandardSettings()
    {
        var options = new AwsClientOptions();

        Bind().ApplyTo(AwsService.ApiGateway, options);

        Assert.Null(options.Region);
        Assert.Null(options.ServiceUrl);
    }

    [Fact]
    public void RegionAndEndpointAreAppliedToClientOptions()
    {
        var options = new AwsClientOptions();

        Bind(("Aws:Region", " eu-west-1 "), ("Aws:ApiGatewayServiceUrl", "http://127.0.0.1:6000")).ApplyTo(AwsService.ApiGateway, options);

        Assert.Equal("eu-west-1", options.Region);
        Assert.Equal(new Uri("http://127.0.0.1:6000"), options.ServiceUrl);
    }

    [Theory]
    [InlineData("Aws:ServiceUrl", "localhost:4566")]
    [InlineData("Aws:ApiGatewayServiceUrl", "ftp://127.0.0.1/")]
    [InlineData("Aws:MarketplaceMeteringServiceUrl", "/relative")]
    [InlineData("Aws:SesServiceUrl", "email.us-east-1.amazonaws.com")]
    public void AMalformedEndpointIsRefusedNamingTheSetting(string key, string value)
    {
        var error = Assert.Throws<OptionsValidationException>(() => Bind((key, value)));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Aws:ServiceUrl", "localhost:4566")]
    [InlineData("Aws:ApiGatewayServiceUrl", "ftp://127.0.0.1/")]
    public void AMalformedEndpointStopsTheConfigurationSourcesThatNeedItNamingTheSetting(string key, string value)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new KeyValuePair<string, string?>(key, value)]).Build();

        var error = Assert.Throws<InvalidOperationException>(() => AwsSettings.Bootstrap(configuration));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }
}
