using System.Text.Json;

namespace Monetization.Tests.Marketplace;

/// <summary>Deliveries as the SubscriptionEvents function receives them from Marketplace's SNS topic and EventBridge rule.</summary>
internal static class MarketplaceDeliveries
{
    public const string ProductCode = "prod-sandbox1234";

    public static string NewCustomerIdentifier() => "cust" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>One record as Lambda receives it from Marketplace's SNS topic (shape of a captured delivery).</summary>
    public static string SnsRecord(string action, string customerIdentifier, DateTimeOffset timestamp, string? messageId = null, string productCode = ProductCode)
    {
        var message = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["action"] = action,
            ["customer-identifier"] = customerIdentifier,
            ["product-code"] = productCode,
            ["offer-identifier"] = "offer-abcdefghijklm",
            ["isFreeTrialTermPresent"] = "false",
        });
        return $$"""
            {
              "EventSource": "aws:sns",
              "EventVersion": "1.0",
              "EventSubscriptionArn": "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-{{productCode}}:7d8a1f4e-0c1b-4a52-9a57-3f1f0c6c1b2a",
              "Sns": {
                "Type": "Notification",
                "MessageId": "{{messageId ?? Guid.NewGuid().ToString()}}",
                "TopicArn": "arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-{{productCode}}",
                "Subject": null,
                "Message": {{JsonSerializer.Serialize(message)}},
                "Timestamp": "{{timestamp.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}}",
                "SignatureVersion": "1",
                "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0QHVCkhRS7fUQvi2egU3N858fiTDN6bkkOxYDVrY0Ad8L10Hs3zH81mtnPk5uvvolIC1CXGu43obcgFxeL3khZl8IKvO61GWB6jI9b5+gLPoBc1Q=",
                "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa7f48f5cacd23014631ec1136.pem",
                "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-{{productCode}}:7d8a1f4e",
                "MessageAttributes": {}
              }
            }
            """;
    }

    public static string SnsEvent(params string[] records) => $$"""{"Records":[{{string.Join(",", records)}}]}""";

    /// <summary>An <c>aws.agreement-marketplace</c> license event as the EventBridge rule's target receives it.</summary>
    public static string LicenseEvent(string detailType, string accountId, string licenseId, DateTimeOffset time) => $$"""
        {
          "version": "0",
          "id": "{{Guid.NewGuid()}}",
          "detail-type": "{{detailType}}",
          "source": "aws.agreement-marketplace",
          "account": "123456789012",
          "time": "{{time.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}}",
          "region": "us-east-1",
          "resources": [],
          "detail": {
            "requestId": "{{Guid.NewGuid()}}",
            "license": { "arn": "aws:license-manager:us-east-1:123456789012:{{licenseId}}" },
            "product": { "id": "prod-id-sandbox", "code": "{{ProductCode}}" },
            "acceptor": { "accountId": "{{accountId}}" },
            "agreement": { "id": "agmt-{{Guid.NewGuid():N}}" }
          }
        }
        """;
}
