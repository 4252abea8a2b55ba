using System.Globalization;
using System.Text.Json;

namespace Monetization.Core.Marketplace.Notifications;

/// <summary>
/// Reads what Lambda hands the SubscriptionEvents function: an SNS event (Marketplace's
/// <c>aws-mp-subscription-notification-&lt;productCode&gt;</c> topic) or an EventBridge event from
/// <c>aws.agreement-marketplace</c>. Every record comes back as a <see cref="ParsedNotification"/>.
/// </summary>
/// <remarks>
/// EventBridge detail-types map onto the SNS actions as follows (either role suffix is accepted for agreement events:
/// when the seller is both manufacturer and proposer AWS sends only the <c>- Proposer</c> variant):
/// <list type="table">
/// <item><term>Purchase Agreement Created</term><description>subscribe-success</description></item>
/// <item><term>Purchase Agreement Ended</term><description>unsubscribe-success</description></item>
/// <item><term>License Updated - Manufacturer</term><description>subscribe-success</description></item>
/// <item><term>License Deprovisioned - Manufacturer</term><description>unsubscribe-success</description></item>
/// </list>
/// AWS documents agreement events without <c>license.arn</c> or <c>product.code</c>, so for new-style buyers they name
/// nobody we can key; they become <see cref="ParsedNotification.NotApplicable"/> unless both fields are present. The
/// license events always carry account, license and product code, which is why License Updated, not the agreement
/// event, is what grants a new-style buyer access; License Deprovisioned revokes it.
/// </remarks>
public static class SubscriptionNotificationParser
{
    public const string AgreementEventSource = "aws.agreement-marketplace";

    private static readonly Dictionary<string, (SubscriptionAction Action, bool IsLicenseEvent)> DetailTypes = new(StringComparer.Ordinal)
    {
        ["Purchase Agreement Created - Manufacturer"] = (SubscriptionAction.SubscribeSuccess, false),
        ["Purchase Agreement Created - Proposer"] = (SubscriptionAction.SubscribeSuccess, false),
        ["Purchase Agreement Ended - Manufacturer"] = (SubscriptionAction.UnsubscribeSuccess, false),
        ["Purchase Agreement Ended - Proposer"] = (SubscriptionAction.UnsubscribeSuccess, false),
        ["License Updated - Manufacturer"] = (SubscriptionAction.SubscribeSuccess, true),
        ["License Deprovisioned - Manufacturer"] = (SubscriptionAction.UnsubscribeSuccess, true),
    };

    /// <summary>Either feed; tells them apart by the SNS <c>Records</c> array or the EventBridge <c>detail-type</c>.</summary>
    public static IReadOnlyList<ParsedNotification> Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json.ToArray());
        }
        catch (JsonException ex)
        {
            return [new ParsedNotification.Malformed("#0", "the delivery is not JSON: " + ex.Message)];
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Records", out _))
            {
                return ParseSns(root);
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("detail-type", out _))
            {
                return [ParseEventBridge(root)];
            }

            return [new ParsedNotification.Malformed("#0", "the delivery is neither an SNS event nor an EventBridge event")];
        }
    }

    public static IReadOnlyList<ParsedNotification> Parse(string json) =>
        Parse(System.Text.Encoding.UTF8.GetBytes(json ?? throw new ArgumentNullException(nameof(json))));

    private static List<ParsedNotification> ParseSns(JsonElement root)
    {
        SnsLambdaEvent? lambdaEvent;
        try
        {
            lambdaEvent = root.Deserialize(NotificationJsonContext.Default.SnsLambdaEvent);
        }
        catch (JsonException ex)
        {
            return [new ParsedNotification.Malformed("#0", "Records is not an array: " + ex.Message)];
        }

        var records = lambdaEvent?.Records ?? [];
        var results = new List<ParsedNotification>(records.Count);
        for (var i = 0; i < records.Count; i++)
        {
            results.Add(ParseSnsRecord(records[i], i));
        }

        return results;
    }

    private static ParsedNotification ParseSnsRecord(JsonElement element, int index)
    {
        var fallbackId = "#" + index.ToString(CultureInfo.InvariantCulture);
        SnsRecord? record;
        try
        {
            record = element.Deserialize(NotificationJsonContext.Default.SnsRecord);
        }
        catch (JsonException ex)
        {
            return new ParsedNotification.Malformed(fallbackId, "the record is not an SNS record: " + ex.Message);
        }

        var sns = record?.Sns;
        var recordId = string.IsNullOrEmpty(sns?.MessageId) ? fallbackId : sns.MessageId;
        if (!string.Equals(record?.EventSource, "aws:sns", StringComparison.Ordinal) || sns is null)
        {
            return new ParsedNotification.Malformed(recordId, "the record's EventSource is not aws:sns");
        }

        if (string.IsNullOrEmpty(sns.MessageId))
        {
            return new ParsedNotification.Malformed(recordId, "Sns.MessageId is missing");
        }

        if (!TryParseTime(sns.Timestamp, out var timestamp))
        {
            return new ParsedNotification.Malformed(recordId, "Sns.Timestamp is missing or not an ISO 8601 time");
        }

        MarketplaceSnsMessage? message;
        try
        {
            message = JsonSerializer.Deserialize(sns.Message ?? string.Empty, NotificationJsonContext.Default.MarketplaceSnsMessage);
        }
        catch (JsonException)
        {
            return new ParsedNotification.Malformed(recordId, "Sns.Message is not the Marketplace JSON message");
        }

        if (message is null || !SubscriptionActions.TryParseWireName(message.Action, out var action))
        {
            return new ParsedNotification.Malformed(recordId, "the message's action is missing or unknown");
        }

        if (string.IsNullOrEmpty(message.Product))
        {
            return new ParsedNotification.Malformed(recordId, "the message has no product-code");
        }

        if (!MarketplaceCustomer.TryFromCustomerIdentifier(message.Customer, out var customer, out var error))
        {
            return new ParsedNotification.Malformed(recordId, "customer-identifier is unusable: " + error);
        }

        return new ParsedNotification.Event(
            recordId,
            new SubscriptionEvent(action, customer, message.Product, timestamp, sns.MessageId, NotificationSource.Sns, message.OfferIdentifier));
    }

    private static ParsedNotification ParseEventBridge(JsonElement root)
    {
        EventBridgeEnvelope? envelope;
        try
        {
            envelope = root.Deserialize(NotificationJsonContext.Default.EventBridgeEnvelope);
        }
        catch (JsonException ex)
        {
            return new ParsedNotification.Malformed("#0", "the EventBridge event has an unexpected shape: " + ex.Message);
        }

        if (envelope is null || string.IsNullOrEmpty(envelope.Id))
        {
            return new ParsedNotification.Malformed("#0", "the EventBridge event has no id");
        }

        var recordId = envelope.Id;
        if (!string.Equals(envelope.Source, AgreementEventSource, StringComparison.Ordinal))
        {
            return new ParsedNotification.Malformed(recordId, "the event's source is not " + AgreementEventSource);
        }

        if (envelope.DetailType is null || !DetailTypes.TryGetValue(envelope.DetailType, out var mapping))
        {
            return new ParsedNotification.Malformed(recordId, "unknown detail-type");
        }

        if (!TryParseTime(envelope.Time, out var timestamp))
        {
            return new ParsedNotification.Malformed(recordId, "time is missing or not an ISO 8601 time");
        }

        var detail = envelope.Detail;
        if (detail is null)
        {
            return new ParsedNotification.Malformed(recordId, "the event has no detail");
        }

        var licenseArn = detail.License?.Arn?.Trim();
        var productCode = detail.Product?.Code?.Trim();
        if (!mapping.IsLicenseEvent && (string.IsNullOrEmpty(licenseArn) || string.IsNullOrEmpty(productCode)))
        {
            return new ParsedNotification.NotApplicable(
                recordId, envelope.DetailType + " carries no license ARN or product code; the license events decide this buyer's access");
        }

        if (string.IsNullOrEmpty(productCode))
        {
            return new ParsedNotification.Malformed(recordId, "detail.product.code is missing");
        }

        if (!MarketplaceCustomer.TryFromLicense(detail.Acceptor?.AccountId, licenseArn, out var customer, out var error))
        {
            return new ParsedNotification.Malformed(recordId, "the buyer is unusable: " + error);
        }

        return new ParsedNotification.Event(
            recordId,
            new SubscriptionEvent(mapping.Action, customer, productCode, timestamp, recordId, NotificationSource.EventBridge, detail.Offer?.Id?.Trim()));
    }

    private static bool TryParseTime(string? value, out DateTimeOffset timestamp) =>
        DateTimeOffset.TryParseExact(
            value,
            ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"],
            CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
            out timestamp);
}
