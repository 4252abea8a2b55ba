using Monetization.Aws.Email;
using Monetization.Emulators.Lambda;

namespace Monetization.Tests.Deployment;

/// <summary>The Portal's <c>Email</c> settings as template.yaml makes them from its parameters.</summary>
public sealed class TemplateEmailTests
{
    private static IReadOnlyDictionary<string, string> Environment(string senderName, string configurationSet) =>
        SamTemplate.EnvironmentOf(Repository.TemplatePath, "PortalFunction", new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["LedgerTable"] = "ledger",
            ["MarketplaceUsagePlan"] = "mp-plan",
            ["MarketplaceProductCode"] = "prod",
            ["StripeUsagePlan"] = "plan",
            ["KeyMintQueue"] = "https://sqs.us-east-1.amazonaws.com/123456789012/monetization-key-mints",
            ["StripeSecretArn"] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stripe",
            ["StripePriceId"] = "price_1",
            ["StripeMeterEventName"] = "api_requests",
            ["MonetizedApiId"] = "abc123defg",
            ["MonetizedApiStage"] = "prod",
            ["SupportContact"] = string.Empty,
            ["PaymentCollection"] = "checkout",
            ["InvoiceDaysUntilDue"] = "30",
            ["PastDueGraceHours"] = "72",
            ["ApiGatewayCallShare"] = "0.8",
            ["AWS::Region"] = "us-east-1",
            ["AWS::URLSuffix"] = "amazonaws.com",
            ["EmailSenderAddress"] = "no-reply@example.com",
            ["EmailSenderName"] = senderName,
            ["EmailConfigurationSet"] = configurationSet,
            ["Condition:NamesEmailSender"] = (senderName.Length > 0).ToString(),
            ["Condition:UsesEmailConfigurationSet"] = (configurationSet.Length > 0).ToString(),
            ["Condition:OffersFreePlan"] = "false",
            ["FreePlanMonthlyQuota"] = "0",
        });

    [Fact]
    public void TheSenderIsTheAddressParameterAloneWithoutAName()
    {
        var variables = Environment(string.Empty, string.Empty);

        Assert.Equal("no-reply@example.com", variables["Email__FromAddress"]);
        Assert.False(variables.ContainsKey("Email__ConfigurationSetName"));
    }

    [Theory]
    [InlineData("Example API", "Example API <no-reply@example.com>")]
    [InlineData("Example, Inc.", "\"Example, Inc.\" <no-reply@example.com>")]
    public void ANamedSenderIsASettingThePortalAcceptsAndSendsAsTheSameAddress(string name, string wire)
    {
        var variables = Environment(name, "mail-events");

        Assert.True(SenderAddress.TryParse(variables["Email__FromAddress"], out var sender, out var problem), problem);
        Assert.Equal("no-reply@example.com", sender.Address);
        Assert.Equal(wire, sender.WireForm);
        Assert.Equal("mail-events", variables["Email__ConfigurationSetName"]);
    }
}
