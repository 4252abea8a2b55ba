using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Monetization.Emulators;
using Monetization.Portal.Hosting;

namespace Monetization.Tests.Registration;

public sealed class PortalConfigurationTests
{
    [Theory]
    [InlineData("Monetization:LedgerTableName")]
    [InlineData("Monetization:StripeUsagePlanId")]
    [InlineData("Stripe:SecretKey")]
    [InlineData("Stripe:PriceId")]
    public async Task MissingSettingStopsThePortalAtStartNamingIt(string missing)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Aws:Region"] = "us-east-1",
            ["Monetization:LedgerTableName"] = "ledger",
            ["Monetization:StripeUsagePlanId"] = "plan",
            ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
            ["Monetization:MarketplaceProductCodes"] = "prod-1",
            ["Stripe:SecretKey"] = "sk_test_configuration",
            ["Stripe:PriceId"] = "price_1",
            ["Stripe:MeterEventName"] = "api_requests",
        };
        settings.Remove(missing);
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
        });

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => portal.StartAsync(TestContext.Current.CancellationToken));

        var setting = missing.Split(':')[1];
        Assert.Contains(setting, failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortalOfASellerWithoutMarketplaceProductsStarts()
    {
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Aws:Region"] = "us-east-1",
                ["Monetization:LedgerTableName"] = "ledger",
                ["Monetization:StripeUsagePlanId"] = "plan",
                ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
                ["Stripe:SecretKey"] = "sk_test_configuration",
                ["Stripe:PriceId"] = "price_1",
                ["Stripe:MeterEventName"] = "api_requests",
            });
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
        });

        await portal.StartAsync(TestContext.Current.CancellationToken);
        await portal.StopAsync(TestContext.Current.CancellationToken);
    }
}
