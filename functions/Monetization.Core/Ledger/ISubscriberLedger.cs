namespace Monetization.Core.Ledger;

/// <summary>
/// The subscriber records. Every write is conditional: create only if absent, replace only if the stored version is
/// the one the caller read. A <c>false</c> result means someone else wrote first: read again and decide again.
/// </summary>
public interface ISubscriberLedger
{
    /// <summary>Strongly consistent read.</summary>
    Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken);

    /// <summary>Creates the record at version 1 if no record has this id. Writes lookup pointers in the same transaction.</summary>
    Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the record if its stored version equals <paramref name="expectedVersion"/>; the stored version becomes
    /// <paramref name="expectedVersion"/> + 1. Lookup pointers for a newly set API key id or Stripe subscription id are
    /// written in the same transaction.
    /// </summary>
    Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken);

    Task<string?> FindIdByApiKeyAsync(string apiKeyId, CancellationToken cancellationToken);

    Task<string?> FindIdByStripeSubscriptionAsync(string stripeSubscriptionId, CancellationToken cancellationToken);
}
