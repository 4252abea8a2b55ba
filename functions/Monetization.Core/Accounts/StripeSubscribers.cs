using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Core.Registration;

namespace Monetization.Core.Accounts;

/// <summary>
/// How a Stripe subscriber is named outside the address itself: the record is <c>stripe#</c> plus
/// <see cref="SubscriberRef.Hash"/> of the normalised address, its key <c>stripe:</c> plus the same hash. Nothing
/// derived from these carries the address.
/// </summary>
public static class StripeSubscribers
{
    private const string IdPrefix = "stripe#";

    public static string IdOf(Email email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return IdPrefix + SubscriberRef.Hash(email.Normalized);
    }

    public static KeyHolder HolderOf(Subscriber record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Channel != Channel.Stripe || !record.Id.StartsWith(IdPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Subscriber {record.Id} is not a Stripe subscriber.", nameof(record));
        }

        return new KeyHolder(record.Id, Channel.Stripe, $"stripe:{record.Id[IdPrefix.Length..]}", CustomerId: null);
    }

    /// <summary>
    /// The subscriber's Stripe customer names their key (metadata <c>awsAPIKeyId</c>), idempotent per subscriber and
    /// key, so every flow that links a key (a first key made, a returning subscriber's key) asks Stripe alike.
    /// </summary>
    public static Task LinkKeyOnCustomerAsync(IBilling billing, Subscriber record, string keyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(billing);
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        return record.StripeCustomerId is { } customerId
            ? billing.SetCustomerMetadataAsync(
                customerId,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["awsAPIKeyId"] = keyId },
                $"customer-metadata:{record.Id}:{keyId}",
                cancellationToken)
            : Task.CompletedTask;
    }
}
