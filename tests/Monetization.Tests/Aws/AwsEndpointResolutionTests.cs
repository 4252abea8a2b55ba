using Monetization.Aws;

namespace Monetization.Tests.Aws;

public sealed class AwsEndpointResolutionTests
{
    private static Func<string, string?> Variables(params (string Name, string Value)[] values)
    {
        var map = values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.TryGetValue(name, out var value) ? value : null;
    }

    [Fact]
    public void WithoutOverridesTheRegionalPublicEndpointIsUsed()
    {
        Assert.Equal(new Uri("https://apigateway.eu-west-1.amazonaws.com"), AwsEndpoints.Resolve(AwsService.ApiGateway, "eu-west-1", Variables()));
        Assert.Equal(
            new Uri("https://metering.marketplace.us-east-1.amazonaws.com"),
            AwsEndpoints.Resolve(AwsService.MarketplaceMetering, "us-east-1", Variables()));
    }

    [Fact]
    public void SesIsReachedAtItsEmailHostAndOverriddenByTheSesv2Variable()
    {
        // botocore sesv2/2019-09-27: endpoint prefix "email", service id "SESv2" (so AWS_ENDPOINT_URL_SESV2), signing name "ses".
        Assert.Equal(new Uri("https://email.eu-west-1.amazonaws.com"), AwsEndpoints.Resolve(AwsService.Ses, "eu-west-1", Variables()));
        Assert.Equal("AWS_ENDPOINT_URL_SESV2", AwsEndpoints.VariableFor(AwsService.Ses));
        Assert.Equal("ses", AwsService.Ses.SigningName);
        Assert.Equal(
            new Uri("http://localhost:8000"),
            AwsEndpoints.Resolve(AwsService.Ses, "eu-west-1", Variables(("AWS_ENDPOINT_URL", "http://localhost:5000"), ("AWS_ENDPOINT_URL_SESV2", "http://localhost:8000"))));
    }

    [Fact]
    public void TheGlobalOverrideBeatsTheDefault()
    {
        var variables = Variables(("AWS_ENDPOINT_URL", "http://localhost:5000"));

        Assert.Equal(new Uri("http://localhost:5000"), AwsEndpoints.Resolve(AwsService.ApiGateway, "eu-west-1", variables));
    }

    [Fact]
    public void TheServiceOverrideBeatsTheGlobalOneAndOnlyForItsService()
    {
        var variables = Variables(
            ("AWS_ENDPOINT_URL", "http://localhost:5000"),
            ("AWS_ENDPOINT_URL_API_GATEWAY", "http://localhost:6000"),
            ("AWS_ENDPOINT_URL_MARKETPLACE_METERING", "http://localhost:7000"));

        Assert.Equal(new Uri("http://localhost:6000"), AwsEndpoints.Resolve(AwsService.ApiGateway, "eu-west-1", variables));
        Assert.Equal(new Uri("http://localhost:7000"), AwsEndpoints.Resolve(AwsService.MarketplaceMetering, "eu-west-1", variables));
        Assert.Equal(
            new Uri("http://localhost:5000"),
            AwsEndpoints.Resolve(AwsService.MarketplaceMetering, "eu-west-1", Variables(("AWS_ENDPOINT_URL", "http://localhost:5000"), ("AWS_ENDPOINT_URL_API_GATEWAY", "http://localhost:6000"))));
    }

    [Fact]
    public void IgnoringConfiguredEndpointsFallsBackToThePublicOne()
    {
        var variables = Variables(("AWS_ENDPOINT_URL_API_GATEWAY", "http://localhost:6000"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));

        Assert.Equal(new Uri("https://apigateway.eu-west-1.amazonaws.com"), AwsEndpoints.Resolve(AwsService.ApiGateway, "eu-west-1", variables));
    }

    [Fact]
    public void AMalformedOverrideFailsNamingTheSetting()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => AwsEndpoints.Resolve(AwsService.ApiGateway, "eu-west-1", Variables(("AWS_ENDPOINT_URL_API_GATEWAY", "not a url"))));

        Assert.Contains("AWS_ENDPOINT_URL_API_GATEWAY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExplicitOptionsWinOverEveryStandardSetting()
    {
        var options = new AwsClientOptions { Region = "ap-south-1", ServiceUrl = new Uri("http://127.0.0.1:1234") };
        var variables = Variables(("AWS_REGION", "eu-west-1"), ("AWS_ENDPOINT_URL", "http://localhost:5000"));

        var connection = Monetization.Aws.Http.AwsConnection.Resolve(AwsService.ApiGateway, options, variables);

        Assert.Equal("ap-south-1", connection.Region);
        Assert.Equal(new Uri("http://127.0.0.1:1234"), connection.Endpoint);
    }

    [Fact]
    public void RegionComesFromAwsRegionThenAwsDefaultRegionThenTheProfile()
    {
        Assert.Equal("eu-west-1", AwsRegion.Resolve(Variables(("AWS_REGION", "eu-west-1"), ("AWS_DEFAULT_REGION", "us-west-2")), () => "sa-east-1"));
        Assert.Equal("us-west-2", AwsRegion.Resolve(Variables(("AWS_DEFAULT_REGION", "us-west-2")), () => "sa-east-1"));
        Assert.Equal("sa-east-1", AwsRegion.Resolve(Variables(), () => "sa-east-1"));
        Assert.Null(AwsRegion.Resolve(Variables(), () => null));
    }

    [Fact]
    public void OptionsValidationNamesTheBadSetting()
    {
        var options = new AwsClientOptions { MaxRetries = -1, ServiceUrl = new Uri("ftp://example.com") };

        var errors = options.Validate();

        Assert.Contains(errors, e => e.Contains("MaxRetries", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("ServiceUrl", StringComparison.Ordinal));
    }
}
