using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monetization.Core.Usage;
using Monetization.UsageReporter;

namespace Monetization.Tests.Usage;

public sealed class UsageReporterServicesTests
{
    private static readonly Dictionary<string, string?> Complete = new()
    {
        ["Monetization:LedgerTableName"] = "ledger",
        ["Usage:StripeUsagePlanId"] = "plan1",
        ["Stripe:SecretKey"] = "sk_test_x",
        ["Stripe:MeterEventName"] = "api_requests",
        ["Stripe:PriceId"] = "price_1Test",
        ["Aws:Region"] = "us-east-1",
        ["Email:FromAddress"] = "API <no-reply@example.com>",
    };

    [Fact]
    public void ACompleteConfigurationBuildsTheReporter()
    {
        using var provider = Build(Complete);

        UsageReporterServices.ValidateNow(provider);

        Assert.NotNull(provider.GetRequiredService<ReportUsage>());
    }

    [Theory]
    [InlineData("Usage:StripeUsagePlanId", "Usage:StripeUsagePlanId")]
    [InlineData("Stripe:SecretKey", "Stripe:SecretKey")]
    [InlineData("Email:FromAddress", "Email:FromAddress")]
    public void AMissingSettingFailsTheStartNamingIt(string removed, string named)
    {
        using var provider = Build(Complete.Where(p => p.Key != removed).ToDictionary());

        var failure = Assert.Throws<OptionsValidationException>(() => UsageReporterServices.ValidateNow(provider));

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Usage:EndedKeyRetention", "366.00:00:00", "Usage:EndedKeyRetention")]
    [InlineData("Usage:EndedKeyRetention", "-00:00:01", "Usage:EndedKeyRetention")]
    [InlineData("ApiGatewayBudget:Share", "1.5", "ApiGatewayBudget:Share")]
    [InlineData("ApiGatewayBudget:Share", "0", "ApiGatewayBudget:Share")]
    [InlineData("ApiGatewayBudget:ImportsPerSecond", "3", "ApiGatewayBudget:ImportsPerSecond")]
    [InlineData("ApiGatewayBudget:MaxWait", "00:10:00", "ApiGatewayBudget:MaxWait")]
    [InlineData("Usage:EndedKeysPerRun", "0", "Usage:EndedKeysPerRun")]
    [InlineData("Usage:EndedKeysPerRun", "1001", "Usage:EndedKeysPerRun")]
    public void AKeyDeletionSettingOutOfRangeFailsTheStartNamingIt(string setting, string value, string named)
    {
        using var provider = Build(new Dictionary<string, string?>(Complete) { [setting] = value });

        var failure = Assert.Throws<OptionsValidationException>(() => UsageReporterServices.ValidateNow(provider));

        Assert.Contains(named, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMarketplacePlanWithoutAProductCodeFailsTheStart()
    {
        using var provider = Build(new Dictionary<string, string?>(Complete) { ["Usage:MarketplaceUsagePlanId"] = "mp-plan" });

        var failure = Assert.Throws<OptionsValidationException>(() => UsageReporterServices.ValidateNow(provider));

        Assert.Contains("Usage:MarketplaceProductCode", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMissingLedgerTableFailsTheStartNamingIt()
    {
        using var provider = Build(Complete.Where(p => p.Key != "Monetization:LedgerTableName").ToDictionary());

        var failure = Assert.Throws<OptionsValidationException>(() => UsageReporterServices.ValidateNow(provider));

        Assert.Contains("Monetization:LedgerTableName", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRunIsReportedAsEmbeddedMetricsCloudWatchCanRead()
    {
        var summary = new UsageReportSummary(
            new StripeUsageSummary { UnitsReported = 40, EventsSent = 3, KeysSkipped = 5, Failures = 1, EndedKeysDeleted = 2 },
            new MarketplaceUsageSummary { UnitsReported = 2, RecordsSent = 1, EndedKeysDeleted = 1 })
        {
            ApiKeysInAccount = 8123,
        };

        using var emf = JsonDocument.Parse(UsageReportOutput.EmbeddedMetrics(summary, new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero)));

        var root = emf.RootElement;
        var directive = root.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
        Assert.Equal(1772323200000, root.GetProperty("_aws").GetProperty("Timestamp").GetInt64());
        Assert.Equal("Monetization/Usage", directive.GetProperty("Namespace").GetString());
        var names = directive.GetProperty("Metrics").EnumerateArray().Select(m => m.GetProperty("Name").GetString()!).ToList();
        Assert.Equal(["UnitsReported", "EventsSent", "KeysSkipped", "Failures", "MarketplaceBuyersUnmeterable", "EndedKeysDeleted", "ApiKeysInAccount"], names);
        Assert.Equal([42L, 4L, 5L, 1L, 0L, 3L, 8123L], names.Select(n => root.GetProperty(n).GetInt64()));
        Assert.Equal("UsageReporter", root.GetProperty(directive.GetProperty("Dimensions")[0][0].GetString()!).GetString());
    }

    [Fact]
    public void AKeyCountThatFailedIsLeftOutOfTheMetricsRatherThanReportedAsZero()
    {
        var summary = new UsageReportSummary(new StripeUsageSummary(), null);

        using var emf = JsonDocument.Parse(UsageReportOutput.EmbeddedMetrics(summary, DateTimeOffset.UnixEpoch));

        Assert.False(emf.RootElement.TryGetProperty("ApiKeysInAccount", out _));
        Assert.DoesNotContain(
            emf.RootElement.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0].GetProperty("Metrics").EnumerateArray(),
            m => m.GetProperty("Name").GetString() == "ApiKeysInAccount");
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddUsageReporter(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();
}
