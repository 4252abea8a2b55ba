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
    [InlineData("Monetization:ApiBaseUrl")]
    [InlineData("Stripe:SecretKey")]
    [InlineData("Stripe:PriceId")]
    [InlineData("Stripe:WebhookSecret")]
    [InlineData("Email:FromAddress")]
    public async Task MissingSettingStopsThePortalAtStartNamingIt(string missing)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Aws:Region"] = "us-east-1",
            ["Monetization:LedgerTableName"] = "ledger",
            ["Monetization:StripeUsagePlanId"] = "plan",
            ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/monetization-key-mints",
            ["Monetization:ApiBaseUrl"] = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod",
            ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
            ["Monetization:MarketplaceProductCodes"] = "prod-1",
            ["Stripe:SecretKey"] = "sk_test_configuration",
            ["Stripe:WebhookSecret"] = "whsec_configuration",
            ["Stripe:PriceId"] = "price_1",
            ["Stripe:MeterEventName"] = "api_requests",
            ["Email:FromAddress"] = "no-reply@example.com",
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
                ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/monetization-key-mints",
                ["Monetization:ApiBaseUrl"] = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod",
            ["Monetization:ApiBaseUrl"] = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod",
                ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
                ["Stripe:SecretKey"] = "sk_test_configuration",
            ["Stripe:WebhookSecret"] = "whsec_configuration",
                ["Stripe:PriceId"] = "price_1",
                ["Stripe:MeterEventName"] = "api_requests",
                ["Email:FromAddress"] = "no-reply@example.com",
            });
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
        });

        await portal.StartAsync(TestContext.Current.CancellationToken);
        await portal.StopAsync(TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("Monetization:ApiBaseUrl", "not a url")]
    [InlineData("Monetization:ApiBaseUrl", "ftp://example.com/api")]
    [InlineData("Monetization:SupportContact", "support@example.com")]
    [InlineData("Monetization:SupportContact", "javascript:alert(1)")]
    [InlineData("Monetization:RequestBudgetSeconds", "0")]
    [InlineData("Monetization:Idempotency:InProgressTimeout", "00:00:20")]
    [InlineData("Monetization:Idempotency:RecordTtl", "00:00:30")]
    [InlineData("Monetization:PaymentCollection", "Card")]
    [InlineData("Monetization:InvoiceDaysUntilDue", "731")]
    [InlineData("Monetization:PastDueGraceHours", "-1")]
    [InlineData("Stripe:WebhookSecret", "sk_test_not_a_webhook_secret")]
    [InlineData("Email:FromAddress", "no-reply")]
    [InlineData("Email:FromAddress", "Example API <no-reply@example.com")]
    [InlineData("Email:ConfigurationSetName", "mail events")]
    public async Task InvalidSettingStopsThePortalAtStartNamingIt(string setting, string value)
    {
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Aws:Region"] = "us-east-1",
                ["Monetization:LedgerTableName"] = "ledger",
                ["Monetization:StripeUsagePlanId"] = "plan",
                ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/monetization-key-mints",
                ["Monetization:ApiBaseUrl"] = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod",
                ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
                ["Stripe:SecretKey"] = "sk_test_configuration",
            ["Stripe:WebhookSecret"] = "whsec_configuration",
                ["Stripe:PriceId"] = "price_1",
                ["Stripe:MeterEventName"] = "api_requests",
                ["Email:FromAddress"] = "no-reply@example.com",
                [setting] = value,
            });
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
        });

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => portal.StartAsync(TestContext.Current.CancellationToken));

        Assert.Contains(setting.Split(':')[^1], failure.ToString(), StringComparison.Ordinal);
    }
}
