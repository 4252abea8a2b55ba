using Monetization.Core.Marketplace;

namespace Monetization.Tests.Marketplace;

public sealed class MarketplaceCustomerTests
{
    [Fact]
    public void LegacyBuyerIsKeyedByCustomerIdentifier()
    {
        var customer = MarketplaceCustomer.FromCustomerIdentifier("X01EXAMPLEX");

        Assert.Equal("cid:X01EXAMPLEX", customer.Key);
        Assert.Equal("mp#cid:X01EXAMPLEX", customer.SubscriberId);
        Assert.Equal("marketplace-cid-X01EXAMPLEX", customer.ApiKeyName);
        Assert.Equal("X01EXAMPLEX", customer.ApiKeyCustomerId);
    }

    [Fact]
    public void NewStyleBuyerIsKeyedByAccountAndLicenseId()
    {
        var customer = MarketplaceCustomer.FromLicense(
            "845735284135", "arn:aws:license-manager::845735284135:license:l-E52CA6F38BF84D0FAFB8802CA15AC11X");

        Assert.Equal("acct:845735284135:l-e52ca6f38bf84d0fafb8802ca15ac11x", customer.Key);
        Assert.Equal("mp#acct:845735284135:l-e52ca6f38bf84d0fafb8802ca15ac11x", customer.SubscriberId);
        Assert.Equal("marketplace-acct-845735284135-l-e52ca6f38bf84d0fafb8802ca15ac11x", customer.ApiKeyName);
        Assert.Null(customer.ApiKeyCustomerId);
    }

    [Fact]
    public void LicenseArnFromResolveCustomerAndFromLicenseEventNameTheSameBuyer()
    {
        var fromLanding = MarketplaceCustomer.FromLicense(
            "845735284135", "arn:aws:license-manager::123456789012:license:l-e52ca6f38bf84d0fafb8802ca15ac11x");
        var fromEvent = MarketplaceCustomer.FromLicense(
            "845735284135", "aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x");

        Assert.Equal(fromLanding, fromEvent);
        Assert.Equal(fromLanding.SubscriberId, fromEvent.SubscriberId);
    }

    [Fact]
    public void CustomerIdentifierWithSeparatorsStaysUnambiguousInTheKey()
    {
        var customer = MarketplaceCustomer.FromCustomerIdentifier("a:b#c d");

        Assert.Equal("mp#cid:a%3Ab%23c%20d", customer.SubscriberId);
    }

    [Theory]
    [InlineData(null, "arn:aws:license-manager::1:license:l-1")]
    [InlineData("12ab", "arn:aws:license-manager::1:license:l-1")]
    [InlineData("845735284135", null)]
    [InlineData("845735284135", "arn:aws:license-manager::1:license:")]
    public void NewStyleBuyerWithoutUsableAccountOrLicenseIsRefused(string? account, string? licenseArn)
    {
        Assert.False(MarketplaceCustomer.TryFromLicense(account, licenseArn, out _, out var error));
        Assert.NotNull(error);
    }

    [Fact]
    public void ResolvedBuyerWithCustomerIdentifierIsLegacyEvenWithALicense()
    {
        var resolved = new Monetization.Core.Marketplace.ResolveCustomerOutcome.Resolved(
            "X01EXAMPLEX", "845735284135", "prod", "arn:aws:license-manager::1:license:l-1");

        Assert.True(MarketplaceCustomer.TryFromResolved(resolved, out var customer, out _));
        Assert.Equal("cid:X01EXAMPLEX", customer.Key);
    }

    [Fact]
    public void ResolvedBuyerWithoutCustomerIdentifierIsKeyedByLicense()
    {
        var resolved = new Monetization.Core.Marketplace.ResolveCustomerOutcome.Resolved(
            null, "845735284135", "prod", "arn:aws:license-manager::1:license:l-abc");

        Assert.True(MarketplaceCustomer.TryFromResolved(resolved, out var customer, out _));
        Assert.Equal("acct:845735284135:l-abc", customer.Key);
    }

    [Fact]
    public void ResolvedLegacyBuyerWithALicenseIsLinkedToItsAccountAndLicenseName()
    {
        var resolved = new Monetization.Core.Marketplace.ResolveCustomerOutcome.Resolved(
            "X01EXAMPLEX", "845735284135", "prod", "arn:aws:license-manager::1:license:l-ABC");

        Assert.True(MarketplaceCustomer.TryFromResolved(resolved, out var customer, out _));

        Assert.Equal("mp#cid:X01EXAMPLEX", customer.SubscriberId);
        Assert.Equal("mp#acct:845735284135:l-abc", customer.LicenseSubscriberId);
        Assert.Equal(MarketplaceCustomer.FromLicense("845735284135", "aws:license-manager:us-east-1:1:l-abc"), customer.LicenseName);
        Assert.Equal("X01EXAMPLEX", customer.ApiKeyCustomerId);
    }

    [Fact]
    public void ResolvedLegacyBuyerWithAnUnusableLicenseIsKnownByCustomerIdentifierAlone()
    {
        var resolved = new Monetization.Core.Marketplace.ResolveCustomerOutcome.Resolved("X01EXAMPLEX", "not-an-account", "prod", null);

        Assert.True(MarketplaceCustomer.TryFromResolved(resolved, out var customer, out _));

        Assert.Null(customer.LicenseSubscriberId);
        Assert.Null(customer.LicenseName);
    }

    [Theory]
    [InlineData("X01EXAMPLEX")]
    [InlineData("a b/c:d%e")]
    public void ACustomerIdentifierSubscriberIdLeadsBackToItsBuyer(string customerIdentifier)
    {
        var buyer = MarketplaceCustomer.FromCustomerIdentifier(customerIdentifier);

        Assert.Equal(buyer, MarketplaceCustomer.FromCustomerIdentifierSubscriberId(buyer.SubscriberId));
    }

    [Theory]
    [InlineData("mp#acct:845735284135:l-abc")]
    [InlineData("stripe#ada@example.com")]
    [InlineData("mp#cid:")]
    public void AnyOtherSubscriberIdNamesNoCustomerIdentifierBuyer(string subscriberId)
    {
        Assert.Null(MarketplaceCustomer.FromCustomerIdentifierSubscriberId(subscriberId));
    }

    [Fact]
    public void OnlyACustomerIdentifierBuyerCanBeLinked()
    {
        var licensed = MarketplaceCustomer.FromLicense("845735284135", "arn:aws:license-manager::1:license:l-1");

        Assert.Throws<InvalidOperationException>(() => licensed.Link(licensed));
    }

    [Fact]
    public void PaddedIdentifiersAreTrimmed()
    {
        Assert.Equal("cid:X01EXAMPLEX", MarketplaceCustomer.FromCustomerIdentifier(" X01EXAMPLEX\n").Key);
        var licensed = MarketplaceCustomer.FromLicense(" 845735284135 ", " arn:aws:license-manager::1:license:l-1 ");
        Assert.Equal("acct:845735284135:l-1", licensed.Key);
        Assert.Equal("845735284135", licensed.CustomerAwsAccountId);
        Assert.Equal("arn:aws:license-manager::1:license:l-1", licensed.LicenseArn);
    }
}
