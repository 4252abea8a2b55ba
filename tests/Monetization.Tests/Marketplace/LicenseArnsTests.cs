using Monetization.Core.Marketplace;

namespace Monetization.Tests.Marketplace;

public sealed class LicenseArnsTests
{
    /// <summary>As ResolveCustomer returns it.</summary>
    private const string Resolved = "arn:aws:license-manager::123456789012:license:l-e52ca6f38bf84d0fafb8802ca15ac11x";

    /// <summary>As AWS's documented License Updated - Manufacturer event carries the same license.</summary>
    private const string Documented = "aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x";

    [Theory]
    [InlineData(Resolved)]
    [InlineData("arn:aws-us-gov:license-manager:us-gov-west-1:123456789012:license/l-1")]
    [InlineData("arn:aws:license-manager::1:license:l-1")]
    public void LicenseArnsInBatchMeterUsagesPatternAreMeterable(string licenseArn)
    {
        Assert.True(LicenseArns.IsMeterable(licenseArn));
    }

    [Theory]
    [InlineData(Documented)]
    [InlineData("arn:l-1")]
    [InlineData("arn:aws:license-manager:us-east-1:123456789012:")]
    [InlineData("arn:aws:license-manager::1:license:l-1\n")]
    [InlineData(" arn:aws:license-manager::1:license:l-1")]
    [InlineData("")]
    [InlineData(null)]
    public void TheDocumentedEventFormAndOtherShapesOutsideThePatternAreNotMeterable(string? licenseArn)
    {
        Assert.False(LicenseArns.IsMeterable(licenseArn));
    }

    [Fact]
    public void AMeterableArnReplacesAStoredOneThatIsNotAndIsNeverReplacedByOneThatIsNot()
    {
        Assert.Equal(Resolved, LicenseArns.Keep(Documented, Resolved));
        Assert.Equal(Resolved, LicenseArns.Keep(Resolved, Documented));
        Assert.Equal(Resolved, LicenseArns.Keep(Resolved, "arn:aws:license-manager::123456789012:license:l-other"));
    }

    [Fact]
    public void WithoutAMeterableArnTheFirstOneSeenIsKept()
    {
        Assert.Equal(Documented, LicenseArns.Keep(null, Documented));
        Assert.Equal(Documented, LicenseArns.Keep(Documented, "arn:l-1"));
        Assert.Null(LicenseArns.Keep(null, null));
    }

    [Fact]
    public void BothShapesOfOneLicenseStillNameOneBuyer()
    {
        Assert.Equal(MarketplaceCustomer.FromLicense("845735284135", Resolved), MarketplaceCustomer.FromLicense("845735284135", Documented));
    }
}
