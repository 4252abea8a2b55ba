using System.Globalization;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Marketplace;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// A buyer whose subscription ends (known by AWS account + license unless said otherwise): SubscriptionEvents disables the key and meters what
/// it used, the key settles in its plan, and the usage reporter meters the rest and takes it out, through the emulated
/// Marketplace, the API Gateway usage stand-in and moto, as deployed (calls recorded for IAM).
/// </summary>
public sealed class FinalUsageTests(MarketplaceChannelFixture channel) : IClassFixture<MarketplaceChannelFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private MarketplaceEmulator Marketplace => channel.Marketplace;

    private static DateOnly Today => DateOnly.FromDateTime(DateTime.UtcNow);

    private async Task<(string Account, string License, string KeyId)> SubscribedBuyerAsync()
    {
        var account = "5" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(CultureInfo.InvariantCulture);
        var license = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
        var granted = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Updated - Manufacturer", account, license, Time: DateTimeOffset.UtcNow.AddMinutes(-10)), Cancel);
        Assert.True(granted.Succeeded, granted.Error);
        var key = await channel.KeyMintedAsync(MarketplaceChannelFixture.LicenseKeyName(account, license));
        Assert.True(key.Enabled);
        return (account, license, key.Id);
    }

    private IReadOnlyList<MeteredUsage> MeteredFor(string account, string license) =>
        [.. Marketplace.Metered.Where(m => m.CustomerAwsAccountId == account && m.LicenseArn == license)];

    private Task<EventDelivery> DeprovisionAsync(string account, string license) =>
        Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Deprovisioned - Manufacturer", account, license, Time: DateTimeOffset.UtcNow.AddMinutes(-1)), Cancel);

    [Fact]
    public async Task WhenTheLicenseIsDeprovisionedWhatTheKeyUsedIsMeteredOnceAndARedeliveryMetersNothingMore()
    {
        var (account, license, keyId) = await SubscribedBuyerAsync();
        channel.Environment.Usage.Count(channel.Environment.MarketplaceUsagePlanId, keyId, Today, 7);

        var revoked = await DeprovisionAsync(account, license);
        var redelivered = await Marketplace.DeliverRawAsync(revoked.Payload, Cancel);

        Assert.True(revoked.Succeeded, revoked.Error);
        Assert.True(redelivered.Succeeded, redelivered.Error);
        var record = Assert.Single(MeteredFor(account, license));
        Assert.Equal(7, record.Quantity);
        Assert.Equal("requests", record.Dimension);
        var key = Assert.Single(await channel.KeysNamedByLicenseAsync(account, license));
        Assert.False(key.Enabled);
        Assert.Contains(keyId, await channel.MarketplacePlanKeyIdsAsync());

        // Served before the key stopped, shown by GetUsage only now: the next hour's report meters it (Marketplace takes
        // one record a buyer and hour), and the key leaves its plan once a report finds nothing of it left.
        channel.Environment.Usage.Count(channel.Environment.MarketplaceUsagePlanId, keyId, Today, 2);
        var nextHour = new Infrastructure.ManualTimeProvider(DateTimeOffset.UtcNow.AddHours(1));
        await Usage.UsageReports.RunOnceAsync(channel.Environment, TimeSpan.Zero, nextHour);
        Assert.Contains(keyId, await channel.MarketplacePlanKeyIdsAsync());
        var settled = await Usage.UsageReports.RunOnceAsync(channel.Environment, TimeSpan.Zero, nextHour);
        Assert.True(settled.Marketplace!.KeysSettled >= 1);
        Assert.DoesNotContain(keyId, await channel.MarketplacePlanKeyIdsAsync());
        Assert.Equal(9, MeteredFor(account, license).Sum(m => m.Quantity));
    }

    [Fact]
    public async Task WhenMeteringIsDownTheEventStillEndsAccessAndTheReporterMetersTheUsageOnceBeforeTheKeyLeavesItsPlan()
    {
        var (account, license, keyId) = await SubscribedBuyerAsync();
        channel.Environment.Usage.Count(channel.Environment.MarketplaceUsagePlanId, keyId, Today, 4);
        Marketplace.Faults.Add(new FaultRule { PathPrefix = "/BatchMeterUsage", Status = 500, Count = 50 });
        EventDelivery ended;
        try
        {
            ended = await DeprovisionAsync(account, license);
        }
        finally
        {
            Marketplace.Faults.Clear();
        }

        // Access ended; the key stays in the plan, disabled, until its usage is metered (API Gateway reports usage for a plan's keys).
        Assert.True(ended.Succeeded, ended.Error);
        Assert.Empty(MeteredFor(account, license));
        Assert.False(Assert.Single(await channel.KeysNamedByLicenseAsync(account, license)).Enabled);
        Assert.Contains(keyId, await channel.MarketplacePlanKeyIdsAsync());

        var metered = await Usage.UsageReports.RunOnceAsync(channel.Environment, TimeSpan.Zero);
        Assert.Contains(keyId, await channel.MarketplacePlanKeyIdsAsync());
        var settled = await Usage.UsageReports.RunOnceAsync(channel.Environment, TimeSpan.Zero);

        Assert.Equal(0, metered.Failures);
        Assert.True(settled.Marketplace!.KeysSettled >= 1);
        Assert.Equal(4, Assert.Single(MeteredFor(account, license)).Quantity);
        Assert.DoesNotContain(keyId, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task ABuyerFirstNamedByTheDocumentedLicenseArnIsMeteredWithTheArnResolveCustomerGaveThoughTheLastEventUsesTheDocumentedOne()
    {
        var account = "7" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(CultureInfo.InvariantCulture);
        var licenseId = $"l-{Guid.NewGuid():N}";
        var documented = $"aws:license-manager:us-east-1:{MarketplaceEmulator.SellerAccountId}:{licenseId}";
        var resolved = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:{licenseId}";
        var granted = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Updated - Manufacturer", account, documented, Time: DateTimeOffset.UtcNow.AddMinutes(-10)), Cancel);
        var purchase = await Marketplace.SimulatePurchaseAsync(
            new MintTokenRequest { Style = BuyerStyle.NewStyle, CustomerAwsAccountId = account, LicenseArn = resolved }, Cancel);
        var key = Assert.Single(await channel.KeysNamedByLicenseAsync(account, resolved));
        channel.Environment.Usage.Count(channel.Environment.MarketplaceUsagePlanId, key.Id, Today, 9);

        var revoked = await Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Deprovisioned - Manufacturer", account, documented, Time: DateTimeOffset.UtcNow.AddMinutes(-1)), Cancel);

        Assert.True(granted.Succeeded, granted.Error);
        Assert.Equal(200, purchase.StatusCode);
        Assert.Equal(key.Value, MarketplaceChannelFixture.KeyOnPage(purchase.Html));
        Assert.True(revoked.Succeeded, revoked.Error);
        Assert.Equal(9, Assert.Single(MeteredFor(account, resolved)).Quantity);
        Assert.Empty(MeteredFor(account, documented));
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());
    }

    [Fact]
    public async Task ALegacyBuyersKeyIsLeftToApiGatewaysOwnMetering()
    {
        var purchase = await Marketplace.SimulatePurchaseAsync(new MintTokenRequest { CustomerIdentifier = "final" + Guid.NewGuid().ToString("N")[..12] }, Cancel);
        var buyer = purchase.Buyer;
        var subscribed = await Marketplace.DeliverSnsAsync(new SnsNotification("subscribe-success", buyer.CustomerIdentifier!), Cancel);
        var key = await channel.KeyMintedAsync("marketplace-cid-" + buyer.CustomerIdentifier);
        channel.Environment.Usage.Count(channel.Environment.MarketplaceUsagePlanId, key.Id, Today, 5);

        var pending = await Marketplace.DeliverSnsAsync(new SnsNotification("unsubscribe-pending", buyer.CustomerIdentifier!), Cancel);
        var ended = await Marketplace.DeliverSnsAsync(new SnsNotification("unsubscribe-success", buyer.CustomerIdentifier!, Timestamp: DateTimeOffset.UtcNow.AddMinutes(1)), Cancel);

        Assert.True(subscribed.Succeeded, subscribed.Error);
        Assert.True(pending.Succeeded, pending.Error);
        Assert.True(ended.Succeeded, ended.Error);
        Assert.DoesNotContain(Marketplace.Metered, m => m.CustomerIdentifier == buyer.CustomerIdentifier || m.CustomerAwsAccountId == buyer.CustomerAwsAccountId);
        Assert.False(Assert.Single(await channel.KeysNamedAsync("marketplace-cid-" + buyer.CustomerIdentifier)).Enabled);
        Assert.Contains(key.Id, await channel.MarketplacePlanKeyIdsAsync());

        // Our watermark never moves for units API Gateway meters, so the key settles once the window has passed.
        var settled = await Usage.UsageReports.RunOnceAsync(channel.Environment, TimeSpan.Zero);
        Assert.True(settled.Marketplace!.KeysSettled >= 1);
        Assert.DoesNotContain(key.Id, await channel.MarketplacePlanKeyIdsAsync());
        Assert.DoesNotContain(Marketplace.Metered, m => m.CustomerIdentifier == buyer.CustomerIdentifier || m.CustomerAwsAccountId == buyer.CustomerAwsAccountId);
    }
}
