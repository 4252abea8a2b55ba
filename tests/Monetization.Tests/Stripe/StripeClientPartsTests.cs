using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monetization.Stripe;

namespace Monetization.Tests.Stripe;

public sealed class StripeClientPartsTests
{
    [Fact]
    public void KeyRejectionNamesTheSettingTheCallAndStripesRequest()
    {
        var error = new StripeKeyRejectedException("GET /v1/prices/price_1", 401, "req_1");

        Assert.Contains("Stripe:SecretKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("GET /v1/prices/price_1", error.Message, StringComparison.Ordinal);
        Assert.Contains("req_1", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WarmingUpRunsTheSignupAndWebhookCallsOnCannedAnswersWithoutTheNetwork()
    {
        // No StripeClient of the process is involved and no server exists: the warm-up answers its own requests.
        await StripeWarmUp.RunAsync(new StripeOptions(), TimeProvider.System, TestContext.Current.CancellationToken);
    }

    [Fact]
    public void BaseUrlsLoseTheirTrailingSlashBecauseStripeNetAppendsPathsToThem()
    {
        Assert.Equal("http://127.0.0.1:5000", StripeOptions.BaseUrl(new Uri("http://127.0.0.1:5000/")));
        Assert.Equal("https://proxy.example/stripe", StripeOptions.BaseUrl(new Uri("https://proxy.example/stripe/")));
    }

    [Fact]
    public void MissingSecretKeyAndPriceFailValidationNamingTheSettings()
    {
        var services = new ServiceCollection();
        services.AddStripeBilling(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<StripeOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("Stripe:SecretKey", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Stripe:PriceId", StringComparison.Ordinal));
    }
}
