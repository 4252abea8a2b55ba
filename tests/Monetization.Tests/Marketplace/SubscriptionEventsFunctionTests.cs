using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Monetization.SubscriptionEvents;

namespace Monetization.Tests.Marketplace;

/// <summary>The SubscriptionEvents function fed what Lambda hands it, against moto_server's API Gateway and DynamoDB.</summary>
public sealed class SubscriptionEventsFunctionTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private const string ProductCode = "prod-sandbox1234";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string NewCustomerIdentifier() => "cust" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>One record as Lambda receives it from Marketplace's SNS topic (shape of a captured delivery).</summary>
    private static string SnsRecord(string action, string customerIdentifier, DateTimeOffset timestamp, string? messageId = null, string productCode = ProductCode)
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

    private static string SnsEvent(params string[] records) => $$"""{"Records":[{{string.Join(",", records)}}]}""";

    /// <summary>An <c>aws.agreement-marketplace</c> license event as the EventBridge rule's target receives it.</summary>
    private static string LicenseEvent(string detailType, string accountId, string licenseId, DateTimeOffset time) => $$"""
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

    private async Task<JsonDocument> InvokeAsync(string payload)
    {
        await using var output = await channel.Function.ProcessAsync(new MemoryStream(Encoding.UTF8.GetBytes(payload)), Cancel);
        return await JsonDocument.ParseAsync(output, cancellationToken: Cancel);
    }

    [Fact]
    public async Task SubscribeSuccessPutsTheBuyersKeyInTheMarketplacePlanEnabled()
    {
        var customer = NewCustomerIdentifier();

        using var summary = await InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, DateTimeOffset.UtcNow)));

        Assert.Equal(1, summary.RootElement.GetProperty("applied").GetInt32());
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.True(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task UnsubscribeSuccessRemovesTheKeyFromThePlanAndDisablesIt()
    {
        var customer = NewCustomerIdentifier();
        var subscribedAt = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var granted = await InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, subscribedAt)));

        using var revoked = await InvokeAsync(SnsEvent(SnsRecord("unsubscribe-success", customer, subscribedAt.AddMinutes(3))));

        Assert.Equal(1, revoked.RootElement.GetProperty("applied").GetInt32());
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.False(key.Enabled);
        Assert.DoesNotContain(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task AStaleSubscribeSuccessArrivingAfterTheUnsubscribeDoesNotGrantAgain()
    {
        var customer = NewCustomerIdentifier();
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        var subscribe = SnsRecord("subscribe-success", customer, start);
        using var first = await InvokeAsync(SnsEvent(subscribe));
        using var second = await InvokeAsync(SnsEvent(SnsRecord("unsubscribe-success", customer, start.AddMinutes(1))));

        using var redelivered = await InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, start.AddSeconds(30))));

        Assert.Equal(1, redelivered.RootElement.GetProperty("stale").GetInt32());
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.False(key.Enabled);
        Assert.DoesNotContain(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task LicenseEventsGrantAndRevokeANewStyleBuyer()
    {
        var account = "4" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var license = "l-" + Guid.NewGuid().ToString("N");
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);

        using var granted = await InvokeAsync(LicenseEvent("License Updated - Manufacturer", account, license, start));
        var keyName = $"marketplace-acct-{account}-{license}";
        var afterGrant = Assert.Single(await channel.KeysNamedAsync(keyName));
        var planAfterGrant = await channel.MarketplacePlanKeyIdsAsync();
        using var revoked = await InvokeAsync(LicenseEvent("License Deprovisioned - Manufacturer", account, license, start.AddMinutes(1)));
        var afterRevoke = Assert.Single(await channel.KeysNamedAsync(keyName));

        Assert.True(afterGrant.Enabled);
        Assert.Contains(afterGrant.Id, planAfterGrant);
        Assert.Equal(afterGrant.Id, afterRevoke.Id);
        Assert.False(afterRevoke.Enabled);
        Assert.DoesNotContain(afterRevoke.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task ABatchWithOneMalformedRecordAppliesTheOthersAndFailsTheInvocation()
    {
        var first = NewCustomerIdentifier();
        var second = NewCustomerIdentifier();
        var malformedId = Guid.NewGuid().ToString();
        var malformed = SnsRecord("subscribe-succeeded-maybe", NewCustomerIdentifier(), DateTimeOffset.UtcNow, malformedId);
        var payload = SnsEvent(
            SnsRecord("subscribe-success", first, DateTimeOffset.UtcNow),
            malformed,
            SnsRecord("subscribe-success", second, DateTimeOffset.UtcNow));

        var failure = await Assert.ThrowsAsync<SubscriptionDeliveryFailedException>(() => InvokeAsync(payload));

        Assert.Equal(malformedId, Assert.Single(failure.Failed).RecordId);
        Assert.Contains("1 of 3", failure.Message, StringComparison.Ordinal);
        var plan = await channel.MarketplacePlanKeyIdsAsync();
        foreach (var customer in new[] { first, second })
        {
            var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
            Assert.True(key.Enabled);
            Assert.Contains(key.Id, plan);
        }
    }

    [Fact]
    public async Task AProductWeDoNotSellIsAcknowledgedWithoutCreatingAKey()
    {
        var customer = NewCustomerIdentifier();

        using var summary = await InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, DateTimeOffset.UtcNow, productCode: "prod-notours")));

        Assert.Equal(1, summary.RootElement.GetProperty("ignored").GetInt32());
        Assert.Empty(await channel.KeysNamedAsync("marketplace-cid-" + customer));
    }

    [Fact]
    public void AMissingSettingFailsTheColdStartNamingIt()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Monetization:LedgerTableName"] = "ledger",
            ["Monetization:MarketplaceUsagePlanId"] = "plan",
            ["Monetization:MarketplaceProductCodes"] = " , ",
        }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => SubscriptionEventsServices.Build(configuration, _ => { }));

        Assert.Contains("Monetization:MarketplaceProductCodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EverySettingMissingFromAnEmptyEnvironmentIsNamed()
    {
        var error = Assert.Throws<OptionsValidationException>(() => SubscriptionEventsServices.Build(new ConfigurationBuilder().Build(), _ => { }));

        Assert.Contains("Monetization:LedgerTableName", error.Message, StringComparison.Ordinal);
        Assert.Contains("Monetization:MarketplaceUsagePlanId", error.Message, StringComparison.Ordinal);
        Assert.Contains("Monetization:MarketplaceProductCodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMalformedAwsEndpointFailsTheColdStartNamingIt()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Monetization:LedgerTableName"] = "ledger",
            ["Monetization:MarketplaceUsagePlanId"] = "plan",
            ["Monetization:MarketplaceProductCodes"] = "prod-a",
            ["Aws:ApiGatewayServiceUrl"] = "apigateway.local:4566",
        }).Build();

        var error = Assert.Throws<InvalidOperationException>(() => SubscriptionEventsServices.Build(configuration, _ => { }));

        Assert.Contains("Aws:ApiGatewayServiceUrl", error.Message, StringComparison.Ordinal);
    }
}
