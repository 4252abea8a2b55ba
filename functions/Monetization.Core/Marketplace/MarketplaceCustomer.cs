using System.Globalization;
using System.Text.RegularExpressions;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <summary>
/// Who bought through AWS Marketplace. Legacy products name the buyer by <c>CustomerIdentifier</c>; new products
/// (no <c>CustomerIdentifier</c>) by the buyer's AWS account id plus the license ARN of the agreement. AWS sends license
/// events for every product, so a legacy buyer has both names: such a customer is <em>linked</em>, keyed by the
/// CustomerIdentifier, with the account + license name as its <see cref="LicenseSubscriberId"/> alias.
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
/// Identity therefore takes either shape, while only the first is one BatchMeterUsage accepts: which ARN a buyer is
/// metered with is decided by <see cref="LicenseArns"/>, never by refusing a name here.
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

    public string SubscriberId => SubscriberPrefix + Key;

    /// <summary>The buyer's account + license subscriber id when both names are known; the alias that leads to <see cref="SubscriberId"/>.</summary>
    public string? LicenseSubscriberId =>
        CustomerIdentifier is not null && CustomerAwsAccountId is not null && LicenseArn is not null
            ? SubscriberPrefix + LicenseKey(CustomerAwsAccountId, LicenseId(LicenseArn)!)
            : null;

    /// <summary>The account + license name alone (what license events call this buyer), or null for a buyer known only by CustomerIdentifier.</summary>
    public MarketplaceCustomer? LicenseName =>
        CustomerAwsAccountId is not null && LicenseArn is not null ? FromLicense(CustomerAwsAccountId, LicenseArn) : null;

    private const string SubscriberPrefix = "mp#";

    private const string CustomerIdentifierPrefix = "cid:";

    /// <summary>Deterministic, so a key whose create response was lost is found again by name.</summary>
    public string ApiKeyName => ApiKeyNameOf(Key);

    /// <summary>
    /// Who holds a Marketplace subscriber's keys, from the record alone (its id names the buyer): the buyer's key name
    /// and, for a CustomerIdentifier buyer, that identifier as the key's <c>customerId</c>.
    /// </summary>
    public static KeyHolder HolderOf(Subscriber record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Channel != Channel.Marketplace || !record.Id.StartsWith(SubscriberPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Subscriber {record.Id} is not a Marketplace buyer.", nameof(record));
        }

        return new KeyHolder(
            record.Id,
            Channel.Marketplace,
            ApiKeyNameOf(record.Id[SubscriberPrefix.Length..]),
            record.MarketplaceCustomerIdentifier ?? FromCustomerIdentifierSubscriberId(record.Id)?.CustomerIdentifier);
    }

    private static string ApiKeyNameOf(string key) => "marketplace-" + key.Replace(':', '-');

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
        customerIdentifier = customerIdentifier?.Trim();
        if (string.IsNullOrEmpty(customerIdentifier))
        {
            error = "the customer identifier is missing";
            return false;
        }

        if (customerIdentifier.Length > MaxCustomerIdentifierLength)
        {
            error = "the customer identifier is longer than 255 characters";
            return false;
        }

        customer = new MarketplaceCustomer(customerIdentifier, null, null, CustomerIdentifierPrefix + Uri.EscapeDataString(customerIdentifier));
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
        customerAwsAccountId = customerAwsAccountId?.Trim();
        licenseArn = licenseArn?.Trim();
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

        customer = new MarketplaceCustomer(null, customerAwsAccountId, licenseArn!, LicenseKey(customerAwsAccountId, licenseId));
        error = null;
        return true;
    }

    /// <summary>
    /// Identity from <c>ResolveCustomer</c>: the legacy identifier when Marketplace gives one, linked to the account +
    /// license name when that is given too, otherwise the account + license name alone.
    /// </summary>
    public static bool TryFromResolved(
        ResolveCustomerOutcome.Resolved resolved,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MarketplaceCustomer? customer,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(resolved);
        if (string.IsNullOrWhiteSpace(resolved.CustomerIdentifier))
        {
            return TryFromLicense(resolved.CustomerAwsAccountId, resolved.LicenseArn, out customer, out error);
        }

        if (!TryFromCustomerIdentifier(resolved.CustomerIdentifier, out customer, out error))
        {
            return false;
        }

        if (TryFromLicense(resolved.CustomerAwsAccountId, resolved.LicenseArn, out var licensed, out _))
        {
            customer = customer.Link(licensed);
        }

        return true;
    }

    /// <summary>
    /// The buyer behind a subscriber id that names a CustomerIdentifier (what an alias leads to), or null for any
    /// other id. The inverse of <see cref="SubscriberId"/>.
    /// </summary>
    public static MarketplaceCustomer? FromCustomerIdentifierSubscriberId(string subscriberId)
    {
        ArgumentNullException.ThrowIfNull(subscriberId);
        const string prefix = SubscriberPrefix + CustomerIdentifierPrefix;
        return subscriberId.StartsWith(prefix, StringComparison.Ordinal)
            && TryFromCustomerIdentifier(Uri.UnescapeDataString(subscriberId[prefix.Length..]), out var customer, out _)
            && string.Equals(customer.SubscriberId, subscriberId, StringComparison.Ordinal)
                ? customer
                : null;
    }

    /// <summary>This CustomerIdentifier buyer, also known by <paramref name="licensed"/>'s account and license.</summary>
    public MarketplaceCustomer Link(MarketplaceCustomer licensed)
    {
        ArgumentNullException.ThrowIfNull(licensed);
        if (CustomerIdentifier is null || licensed.CustomerAwsAccountId is null || licensed.LicenseArn is null)
        {
            throw new InvalidOperationException("Only a CustomerIdentifier buyer can be linked, and only to an account + license name.");
        }

        return new MarketplaceCustomer(CustomerIdentifier, licensed.CustomerAwsAccountId, licensed.LicenseArn, Key);
    }

    public bool Equals(MarketplaceCustomer? other) => other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Key);

    public override string ToString() => Key;

    private static string LicenseKey(string customerAwsAccountId, string licenseId) =>
        string.Create(CultureInfo.InvariantCulture, $"acct:{customerAwsAccountId}:{Uri.EscapeDataString(licenseId)}");

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
