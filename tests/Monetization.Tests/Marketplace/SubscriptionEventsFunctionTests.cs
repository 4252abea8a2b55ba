using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Monetization.Emulators.Faults;
using Monetization.SubscriptionEvents;
using static Monetization.Tests.Marketplace.MarketplaceDeliveries;

namespace Monetization.Tests.Marketplace;

/// <summary>The SubscriptionEvents function fed what Lambda hands it, against moto_server's API Gateway and DynamoDB.</summary>
public sealed class SubscriptionEventsFunctionTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

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
        var key = await channel.KeyMintedAsync("marketplace-cid-" + customer);
        Assert.True(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task UnsubscribeSuccessDisablesTheKeyWhichSettlesInItsPlan()
    {
        var customer = NewCustomerIdentifier();
        var subscribedAt = DateTimeOffset.UtcNow.AddMinutes(-5);
        using var granted = await InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, subscribedAt)));
        var minted = await channel.KeyMintedAsync("marketplace-cid-" + customer);

        using var revoked = await InvokeAsync(SnsEvent(SnsRecord("unsubscribe-success", customer, subscribedAt.AddMinutes(3))));

        Assert.Equal(1, revoked.RootElement.GetProperty("applied").GetInt32());
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.Equal(minted.Id, key.Id);
        Assert.False(key.Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task AStaleSubscribeSuccessArrivingAfterTheUnsubscribeDoesNotGrantAgain()
    {
        var customer = NewCustomerIdentifier();
        var start = DateTimeOffset.UtcNow.AddMinutes(-10);
        var subscribe = SnsRecord("subscribe-success", customer, start);
        using var first = await InvokeAsync(SnsEvent(subscribe));
        await channel.KeyMintedAsync("marketplace-cid-" + customer);
        using var second = await InvokeAsync(SnsEvent(SnsRecord("unsubscribe-success", customer, start.AddMinutes(1))));

        using var redelivered = await InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, start.AddSeconds(30))));

        Assert.Equal(1, redelivered.RootElement.GetProperty("stale").GetInt32());
        var key = Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + customer));
        Assert.False(key.Enabled);
    }

    [Fact]
    public async Task LicenseEventsGrantAndRevokeANewStyleBuyer()
    {
        var account = "4" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var license = "l-" + Guid.NewGuid().ToString("N");
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);

        using var granted = await InvokeAsync(LicenseEvent("License Updated - Manufacturer", account, license, start));
        var keyName = $"marketplace-acct-{account}-{license}";
        var afterGrant = await channel.KeyMintedAsync(keyName);
        var planAfterGrant = await channel.MarketplacePlanKeyIdsAsync();
        using var revoked = await InvokeAsync(LicenseEvent("License Deprovisioned - Manufacturer", account, license, start.AddMinutes(1)));
        var afterRevoke = Assert.Single(await channel.KeysNamedAsync(keyName));

        Assert.True(afterGrant.Enabled);
        Assert.Contains(afterGrant.Id, planAfterGrant);
        Assert.Equal(afterGrant.Id, afterRevoke.Id);
        Assert.False(afterRevoke.Enabled);
        Assert.Contains(afterRevoke.Id, await channel.MarketplacePlanKeyIdsAsync());
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
        foreach (var customer in new[] { first, second })
        {
            var key = await channel.KeyMintedAsync("marketplace-cid-" + customer);
            Assert.True(key.Enabled);
            Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
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
    public async Task TheFunctionReachesApiGatewayWhereAwsApiGatewayServiceUrlSays()
    {
        // The channel's configuration sends API Gateway through the fault proxy (Aws:ApiGatewayServiceUrl) and
        // everything else to moto (Aws:ServiceUrl); a fault on the proxy must reach the function.
        var customer = NewCustomerIdentifier();
        channel.Environment.ApiGateway.Faults.Add(new FaultRule { Kind = FaultKind.Status, Status = 400, Body = """{"message":"Injected"}""" });
        try
        {
            var failure = await Assert.ThrowsAsync<SubscriptionDeliveryFailedException>(() => InvokeAsync(SnsEvent(SnsRecord("subscribe-success", customer, DateTimeOffset.UtcNow))));

            Assert.Single(failure.Failed);
        }
        finally
        {
            channel.Environment.ApiGateway.Faults.Clear();
        }

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
            ["Usage:MarketplaceUsagePlanId"] = "plan",
            ["Usage:MarketplaceProductCode"] = "prod-a",
            ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/key-requests",
        }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => SubscriptionEventsServices.Build(configuration, _ => { }));

        Assert.Contains("Monetization:MarketplaceProductCodes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EverySettingMissingFromAnEmptyEnvironmentIsNamed()
    {
        var error = Assert.Throws<AggregateException>(() => SubscriptionEventsServices.Build(new ConfigurationBuilder().Build(), _ => { }));

        Assert.All(error.InnerExceptions, e => Assert.IsType<OptionsValidationException>(e));
        Assert.Contains("Monetization:LedgerTableName", error.Message, StringComparison.Ordinal);
        Assert.Contains("Monetization:MarketplaceUsagePlanId", error.Message, StringComparison.Ordinal);
        Assert.Contains("Monetization:MarketplaceProductCodes", error.Message, StringComparison.Ordinal);
        Assert.Contains("Usage:MarketplaceUsagePlanId", error.Message, StringComparison.Ordinal);
        Assert.Contains("KeyMinting:QueueUrl", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMalformedAwsEndpointFailsTheColdStartNamingIt()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Monetization:LedgerTableName"] = "ledger",
            ["Monetization:MarketplaceUsagePlanId"] = "plan",
            ["Monetization:MarketplaceProductCodes"] = "prod-a",
            ["Usage:MarketplaceUsagePlanId"] = "plan",
            ["Usage:MarketplaceProductCode"] = "prod-a",
            ["Aws:ApiGatewayServiceUrl"] = "apigateway.local:4566",
            ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/key-requests",
        }).Build();

        var error = Assert.Throws<OptionsValidationException>(() => SubscriptionEventsServices.Build(configuration, _ => { }));

        Assert.Contains("Aws:ApiGatewayServiceUrl", error.Message, StringComparison.Ordinal);
    }
}
