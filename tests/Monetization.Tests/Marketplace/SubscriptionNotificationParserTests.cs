using Monetization.Core.Marketplace;
using Monetization.Core.Marketplace.Notifications;

namespace Monetization.Tests.Marketplace;

public sealed class SubscriptionNotificationParserTests
{
    private const string SnsRecordTemplate = """
        {
          "EventSource": "aws:sns",
          "EventVersion": "1.0",
          "EventSubscriptionArn": "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-4k5b3wq6r7example:0b1c2d3e-1111-2222-3333-444455556666",
          "Sns": {
            "Type": "Notification",
            "MessageId": "MESSAGE_ID",
            "TopicArn": "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-4k5b3wq6r7example",
            "Subject": null,
            "Message": MESSAGE,
            "Timestamp": "2026-05-01T12:00:00.123Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLEpH+..",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {}
          }
        }
        """;

    private const string LicenseUpdated = """
        {
          "version": "0",
          "id": "12345678-1234-1234-1234-123456789012",
          "detail-type": "License Updated - Manufacturer",
          "source": "aws.agreement-marketplace",
          "account": "123456789012",
          "time": "2026-05-01T21:36:03Z",
          "region": "us-east-1",
          "resources": ["arn:aws:aws-marketplace::aws:agreement:agmt-4mwg1nevbokzw95eca5797ixs"],
          "detail": {
            "requestId": "3d4c9f9b-b809-4f5e-9fac-a9ae98b05cbb",
            "catalog": "AWSMarketplace",
            "agreement": { "id": "agmt-4mwg1nevbokzw95eca5797ixs" },
            "product": { "code": "aw4fgf5tyo5w2ap6fEXAMPLE", "id": "prod-qtwveEXAMPLE" },
            "license": { "arn": "aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x" },
            "acceptor": { "accountId": "845735284135" },
            "proposer": { "accountId": "123456512334" },
            "offer": { "id": "8kkr91jo647j3qxlcjhlqce7y" }
          }
        }
        """;

    private const string AgreementCreatedProposer = """
        {
          "version": "0",
          "id": "22345678-1234-1234-1234-123456789012",
          "detail-type": "Purchase Agreement Created - Proposer",
          "source": "aws.agreement-marketplace",
          "account": "123456789012",
          "time": "2026-05-01T21:36:03Z",
          "region": "us-east-1",
          "resources": ["arn:aws:aws-marketplace::aws:agreement:agmt-4mwg1nevbokzw95eca5797ixs"],
          "detail": {
            "requestId": "3d4c9f9b-b809-4f5e-9fac-a9ae98b05cbb",
            "catalog": "AWSMarketplace",
            "agreement": {
              "id": "agmt-4mwg1nevbokzw95eca5797ixs",
              "intent": "NEW",
              "status": "ACTIVE",
              "acceptanceTime": "2026-05-01T21:36:03Z",
              "startTime": "2026-05-01T21:36:03Z",
              "endTime": "2027-05-01T21:36:03Z"
            },
            "resaleAuthorization": { "id": null },
            "acceptor": { "accountId": "845735284135" },
            "proposer": { "accountId": "123456512334" },
            "offer": { "id": "offer-1234567890123" }
          }
        }
        """;

    [Theory]
    [InlineData("subscribe-success", SubscriptionAction.SubscribeSuccess)]
    [InlineData("subscribe-fail", SubscriptionAction.SubscribeFail)]
    [InlineData("unsubscribe-pending", SubscriptionAction.UnsubscribePending)]
    [InlineData("unsubscribe-success", SubscriptionAction.UnsubscribeSuccess)]
    [InlineData("entitlement-updated", SubscriptionAction.EntitlementUpdated)]
    public void SnsMarketplaceMessageBecomesTheMatchingEvent(string action, SubscriptionAction expected)
    {
        var json = SnsEvent(SnsRecord("95df01b4-ee98-5cb9-9903-4c221d41eb5e", MarketplaceMessage(action)));

        var parsed = Assert.Single(SubscriptionNotificationParser.Parse(json));

        var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(parsed).Value;
        Assert.Equal(expected, subscriptionEvent.Action);
        Assert.Equal("cid:X01EXAMPLEX", subscriptionEvent.Customer.Key);
        Assert.Equal("4k5b3wq6r7example", subscriptionEvent.ProductCode);
        Assert.Equal("offer-abcexample123", subscriptionEvent.OfferIdentifier);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 12, 0, 0, 123, TimeSpan.Zero), subscriptionEvent.Timestamp);
        Assert.Equal("95df01b4-ee98-5cb9-9903-4c221d41eb5e", subscriptionEvent.EventId);
        Assert.Equal(NotificationSource.Sns, subscriptionEvent.Source);
    }

    [Fact]
    public void MalformedSnsRecordsFailAloneAndTheGoodOnesStillParse()
    {
        var json = SnsEvent(
            SnsRecord("good-1", MarketplaceMessage("subscribe-success")),
            SnsRecord("bad-json", "\"{not json\""),
            SnsRecord("unknown-action", MarketplaceMessage("subscribe-maybe")),
            SnsRecord("no-customer", "\"{\\\"action\\\":\\\"subscribe-success\\\",\\\"product-code\\\":\\\"p\\\"}\""),
            SnsRecord("no-product", "\"{\\\"action\\\":\\\"subscribe-success\\\",\\\"customer-identifier\\\":\\\"c\\\"}\""),
            SnsRecord("bad-time", MarketplaceMessage("subscribe-success")).Replace("2026-05-01T12:00:00.123Z", "yesterday", StringComparison.Ordinal),
            """{ "EventSource": "aws:sqs", "Sns": { "MessageId": "wrong-source" } }""",
            "42",
            SnsRecord("good-2", MarketplaceMessage("unsubscribe-success")));

        var parsed = SubscriptionNotificationParser.Parse(json);

        Assert.Equal(9, parsed.Count);
        Assert.Equal(["good-1", "good-2"], parsed.OfType<ParsedNotification.Event>().Select(p => p.RecordId));
        Assert.Equal(
            ["bad-json", "unknown-action", "no-customer", "no-product", "bad-time", "wrong-source", "#7"],
            parsed.OfType<ParsedNotification.Malformed>().Select(p => p.RecordId));
    }

    [Fact]
    public void LicenseUpdatedGrantsTheBuyerNamedByAccountAndLicense()
    {
        var parsed = Assert.Single(SubscriptionNotificationParser.Parse(LicenseUpdated));

        var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(parsed).Value;
        Assert.Equal(SubscriptionAction.SubscribeSuccess, subscriptionEvent.Action);
        Assert.Equal("acct:845735284135:l-e52ca6f38bf84d0fafb8802ca15ac11x", subscriptionEvent.Customer.Key);
        Assert.Equal("aw4fgf5tyo5w2ap6fEXAMPLE", subscriptionEvent.ProductCode);
        Assert.Equal(new DateTimeOffset(2026, 5, 1, 21, 36, 3, TimeSpan.Zero), subscriptionEvent.Timestamp);
        Assert.Equal("12345678-1234-1234-1234-123456789012", subscriptionEvent.EventId);
        Assert.Equal(NotificationSource.EventBridge, subscriptionEvent.Source);
    }

    [Fact]
    public void LicenseDeprovisionedRevokes()
    {
        var json = LicenseUpdated.Replace("License Updated - Manufacturer", "License Deprovisioned - Manufacturer", StringComparison.Ordinal);

        var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(Assert.Single(SubscriptionNotificationParser.Parse(json))).Value;

        Assert.Equal(SubscriptionAction.UnsubscribeSuccess, subscriptionEvent.Action);
    }

    [Theory]
    [InlineData("Purchase Agreement Created - Manufacturer", SubscriptionAction.SubscribeSuccess)]
    [InlineData("Purchase Agreement Created - Proposer", SubscriptionAction.SubscribeSuccess)]
    [InlineData("Purchase Agreement Ended - Manufacturer", SubscriptionAction.UnsubscribeSuccess)]
    [InlineData("Purchase Agreement Ended - Proposer", SubscriptionAction.UnsubscribeSuccess)]
    public void AgreementEventThatNamesALicenseMapsOntoTheSubscriptionActions(string detailType, SubscriptionAction expected)
    {
        var json = LicenseUpdated.Replace("License Updated - Manufacturer", detailType, StringComparison.Ordinal);

        var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(Assert.Single(SubscriptionNotificationParser.Parse(json))).Value;

        Assert.Equal(expected, subscriptionEvent.Action);
    }

    [Fact]
    public void AgreementEventWithoutLicenseIsAcknowledgedNotFailed()
    {
        var parsed = Assert.Single(SubscriptionNotificationParser.Parse(AgreementCreatedProposer));

        var notApplicable = Assert.IsType<ParsedNotification.NotApplicable>(parsed);
        Assert.Equal("22345678-1234-1234-1234-123456789012", notApplicable.RecordId);
    }

    [Theory]
    [InlineData("\"source\": \"aws.agreement-marketplace\"", "\"source\": \"aws.marketplace\"")]
    [InlineData("License Updated - Manufacturer", "Purchase Agreement Amended - Manufacturer")]
    [InlineData("\"time\": \"2026-05-01T21:36:03Z\"", "\"time\": \"soon\"")]
    [InlineData("\"code\": \"aw4fgf5tyo5w2ap6fEXAMPLE\",", "")]
    [InlineData("\"accountId\": \"845735284135\"", "\"accountId\": \"not-an-account\"")]
    [InlineData("\"detail\": {", "\"detail\": [], \"ignored\": {")]
    public void EventBridgeEventWeCannotReadIsMalformed(string original, string replacement)
    {
        var json = LicenseUpdated.Replace(original, replacement, StringComparison.Ordinal);

        var parsed = Assert.Single(SubscriptionNotificationParser.Parse(json));

        Assert.IsType<ParsedNotification.Malformed>(parsed);
    }

    [Theory]
    [InlineData("customer-identifier", "product-code")]
    [InlineData("CustomerIdentifier", "ProductCode")]
    public void SnsMessageFieldsAreReadInEitherDocumentedSpellingAndTrimmed(string customerField, string productField)
    {
        var message = "\"{\\\"action\\\": \\\"subscribe-success\\\", \\\"" + customerField + "\\\": \\\" X01EXAMPLEX \\\", \\\""
            + productField + "\\\": \\\" 4k5b3wq6r7example\\\"}\"";

        var parsed = Assert.Single(SubscriptionNotificationParser.Parse(SnsEvent(SnsRecord("m-spelling", message))));

        var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(parsed).Value;
        Assert.Equal("X01EXAMPLEX", subscriptionEvent.Customer.CustomerIdentifier);
        Assert.Equal("4k5b3wq6r7example", subscriptionEvent.ProductCode);
    }

    [Fact]
    public void LicenseEventIdentifiersAreTrimmed()
    {
        var json = LicenseUpdated
            .Replace("\"845735284135\"", "\" 845735284135\\n\"", StringComparison.Ordinal)
            .Replace("\"aw4fgf5tyo5w2ap6fEXAMPLE\"", "\" aw4fgf5tyo5w2ap6fEXAMPLE \"", StringComparison.Ordinal)
            .Replace("\"aws:license-manager:", "\"  aws:license-manager:", StringComparison.Ordinal);

        var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(Assert.Single(SubscriptionNotificationParser.Parse(json))).Value;

        Assert.Equal("acct:845735284135:l-e52ca6f38bf84d0fafb8802ca15ac11x", subscriptionEvent.Customer.Key);
        Assert.Equal("845735284135", subscriptionEvent.Customer.CustomerAwsAccountId);
        Assert.Equal("aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x", subscriptionEvent.Customer.LicenseArn);
        Assert.Equal("aw4fgf5tyo5w2ap6fEXAMPLE", subscriptionEvent.ProductCode);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("[]")]
    [InlineData("{\"hello\": \"world\"}")]
    public void DeliveryThatIsNeitherFeedIsOneMalformedRecord(string json)
    {
        Assert.IsType<ParsedNotification.Malformed>(Assert.Single(SubscriptionNotificationParser.Parse(json)));
    }

    private static string MarketplaceMessage(string action) =>
        "\"{\\n\\\"action\\\": \\\"" + action + "\\\",\\n\\\"customer-identifier\\\": \\\"X01EXAMPLEX\\\",\\n"
        + "\\\"product-code\\\": \\\"4k5b3wq6r7example\\\",\\n\\\"offer-identifier\\\": \\\"offer-abcexample123\\\",\\n"
        + "\\\"isFreeTrialTermPresent\\\": \\\"true\\\"\\n}\"";

    private static string SnsRecord(string messageId, string messageJsonString) =>
        SnsRecordTemplate
            .Replace("MESSAGE_ID", messageId, StringComparison.Ordinal)
            .Replace("MESSAGE", messageJsonString, StringComparison.Ordinal);

    private static string SnsEvent(params string[] records) => "{\"Records\": [" + string.Join(",", records) + "]}";
}
