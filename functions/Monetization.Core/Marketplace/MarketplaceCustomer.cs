using System.Globalization;
using System.Text.RegularExpressions;

namespace Monetization.Core.Marketplace;

/// <summary>
/// Who bought through AWS Marketplace. Legacy products name the buyer by <c>CustomerIdentifier</c>; new products
/// (no <c>CustomerIdentifier</c>) by the buyer's AWS account id plus the license ARN of the agreement.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Key"/> is <c>cid:&lt;CustomerIdentifier&gt;</c> or <c>acct:&lt;account id&gt;:&lt;license id&gt;</c>; the
/// subscriber id is <c>mp#</c> + key and the API key name <c>marketplace-</c> + key with <c>:</c> turned into <c>-</c>.
/// Free-text parts are percent-encoded (RFC 3986 unreserved characters stay) so the key is safe inside a DynamoDB
/// key and the <c>:</c> separators stay unambiguous.
/// </para>
/// <para>
/// The license is keyed by its id (<c>l-…</c>, the last ARN segment, lower case) rather than the whole ARN because
/// AWS prints the same license in two shapes: <c>ResolveCustomer</c> returns <c>arn:aws:license-manager::…:license:l-…</c>
/// while the documented EventBridge license events carry <c>aws:license-manager:us-east-1:…:l-…</c>. Keying on the id
/// lets the landing and the events meet on one subscriber. Equality follows <see cref="Key"/> for the same reason.
/// </para>
/// </remarks>
public sealed partial record MarketplaceCustomer
{
    private const int MaxCustomerIdentifierLength = 255;

    private MarketplaceCustomer(string? customerIdentifier, string? customerAwsAccountId, string? licenseArn, string key)
    {
        CustomerIdentifier = customerIdentifier;
        CustomerAwsAccountId = customerAwsAccountId;
        LicenseArn = licenseArn;
        Key = key;
    }

    public string? CustomerIdentifier { get; }

    public string? CustomerAwsAccountId { get; }

    public string? LicenseArn { get; }

    public string Key { get; }

    public string SubscriberId => "mp#" + Key;

    /// <summary>Deterministic, so a key whose create response was lost is found again by name.</summary>
    public string ApiKeyName => "marketplace-" + Key.Replace(':', '-');

    /// <summary>
    /// The API key's <c>customerId</c>. API Gateway's built-in Marketplace metering reports usage under it, and it
    /// only understands the legacy <c>CustomerIdentifier</c>; new-style buyers are metered by account and license.
    /// </summary>
    public string? ApiKeyCustomerId => CustomerIdentifier;

    public static MarketplaceCustomer FromCustomerIdentifier(string customerIdentifier) =>
        TryFromCustomerIdentifier(customerIdentifier, out var customer, out var error)
            ? customer
            : throw new ArgumentException(error, nameof(customerIdentifier));

    public static MarketplaceCustomer FromLicense(string customerAwsAccountId, string licenseArn) =>
        TryFromLicense(customerAwsAccountId, licenseArn, out var customer, out var error)
            ? customer
            : throw new ArgumentException(error, nameof(licenseArn));

    public static bool TryFromCustomerIdentifier(
        string? customerIdentifier,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MarketplaceCustomer? customer,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        customer = null;
        if (string.IsNullOrWhiteSpace(customerIdentifier))
        {
            error = "the customer identifier is missing";
            return false;
        }

        if (customerIdentifier.Length > MaxCustomerIdentifierLength)
        {
            error = "the customer identifier is longer than 255 characters";
            return false;
        }

        customer = new MarketplaceCustomer(customerIdentifier, null, null, "cid:" + Uri.EscapeDataString(customerIdentifier));
        error = null;
        return true;
    }

    public static bool TryFromLicense(
        string? customerAwsAccountId,
        string? licenseArn,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MarketplaceCustomer? customer,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        customer = null;
        if (customerAwsAccountId is null || !AccountId().IsMatch(customerAwsAccountId))
        {
            error = "the buyer's AWS account id is missing or not numeric";
            return false;
        }

        var licenseId = LicenseId(licenseArn);
        if (licenseId is null)
        {
            error = "the license ARN is missing or names no license";
            return false;
        }

        customer = new MarketplaceCustomer(
            null,
            customerAwsAccountId,
            licenseArn,
            string.Create(CultureInfo.InvariantCulture, $"acct:{customerAwsAccountId}:{Uri.EscapeDataString(licenseId)}"));
        error = null;
        return true;
    }

    /// <summary>Identity from <c>ResolveCustomer</c>: the legacy identifier when Marketplace gives one.</summary>
    public static bool TryFromResolved(
        ResolveCustomerOutcome.Resolved resolved,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MarketplaceCustomer? customer,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(resolved);
        return string.IsNullOrWhiteSpace(resolved.CustomerIdentifier)
            ? TryFromLicense(resolved.CustomerAwsAccountId, resolved.LicenseArn, out customer, out error)
            : TryFromCustomerIdentifier(resolved.CustomerIdentifier, out customer, out error);
    }

    public bool Equals(MarketplaceCustomer? other) => other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    public override string ToString() => Key;

    private static string? LicenseId(string? licenseArn)
    {
        if (string.IsNullOrWhiteSpace(licenseArn))
        {
            return null;
        }

        var trimmed = licenseArn.Trim();
        var id = trimmed[(trimmed.LastIndexOfAny([':', '/']) + 1)..];
        return id.Length == 0 ? null : id.ToLowerInvariant();
    }

    [GeneratedRegex("^[0-9]{1,32}$", RegexOptions.CultureInvariant)]
    private static partial Regex AccountId();
}
