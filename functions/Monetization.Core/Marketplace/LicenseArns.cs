using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Monetization.Core.Marketplace;

/// <summary>
/// Which license ARNs BatchMeterUsage takes, and which one a buyer's ledger record keeps. A single record whose
/// <c>LicenseArn</c> fails the service's pattern fails the whole request, and with it every buyer in the batch; yet AWS
/// prints one license in two shapes: <c>ResolveCustomer</c> returns <c>arn:aws:license-manager::…:license:l-…</c>, which
/// the pattern takes, while the documented <c>License Updated - Manufacturer</c> event carries
/// <c>aws:license-manager:us-east-1:…:l-…</c> (no <c>arn:</c>), which it refuses.
/// </summary>
/// <remarks>
/// Only what is sent to Metering depends on this. Who a buyer is does not: <see cref="MarketplaceCustomer"/> keys the
/// license by its id, so both shapes still name one buyer.
/// </remarks>
public static partial class LicenseArns
{
    public static bool IsMeterable([NotNullWhen(true)] string? licenseArn) =>
        licenseArn is not null && MeteringPattern().IsMatch(licenseArn);

    /// <summary>
    /// The license ARN a ledger record keeps when <paramref name="offered"/> arrives for it. A stored ARN Metering takes
    /// stays, whatever shape later events print the license in; an offered one Metering takes replaces a stored one it
    /// refuses; otherwise the first ARN seen stays, so a buyer known only by an unmeterable ARN is still recognisable as
    /// one whose usage waits for a better ARN.
    /// </summary>
    public static string? Keep(string? stored, string? offered) =>
        IsMeterable(stored) ? stored : IsMeterable(offered) ? offered : stored ?? offered;

    /// <summary>Whether <paramref name="offered"/> mends a stored ARN that Metering would refuse (rather than filling an empty one).</summary>
    public static bool Mends(string? stored, string? offered) =>
        stored is not null && !IsMeterable(stored) && IsMeterable(offered);

    // botocore data meteringmarketplace/2016-01-14 service-2.json, shape LicenseArn (checked against botocore 1.43.11).
    // Its final `$` is written `\z`: .NET's `$` also matches before a trailing newline. Stricter than the service only
    // holds a buyer's usage back; kinder than the service would fail a whole batch.
    [GeneratedRegex(
        @"^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex MeteringPattern();
}
