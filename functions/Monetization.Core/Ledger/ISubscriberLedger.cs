namespace Monetization.Core.Ledger;

/// <summary>
/// The subscriber records. Every write is conditional: create only if absent, replace only if the stored version is
/// the one the caller read. A <c>false</c> result means someone else wrote first: read again and decide again.
/// </summary>
public interface ISubscriberLedger
{
    /// <summary>Strongly consistent read.</summary>
    Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken);

    /// <summary>Creates the record at version 1 if no record has this id.</summary>
    Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces the record if its stored version equals <paramref name="expectedVersion"/>; the stored version becomes
    /// <paramref name="expectedVersion"/> + 1.
    /// </summary>
    Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken);

    /// <summary>The subscriber an alias names (strongly consistent), or null when no one has claimed it.</summary>
    /// <param name="alias">Another name of one subscriber, e.g. a Marketplace buyer's account + license subscriber id.</param>
    Task<string?> FindAliasAsync(string alias, CancellationToken cancellationToken);

    /// <summary>
    /// Makes <paramref name="alias"/> name <paramref name="subscriberId"/> unless it already names someone; an alias is
    /// never moved. Returns the subscriber the alias names afterwards, so a caller that finds another owner can tell.
    /// </summary>
    Task<string> AddAliasAsync(string alias, string subscriberId, CancellationToken cancellationToken);

    /// <summary>The subscriber a Stripe subscription belongs to (strongly consistent), or null when none was recorded.</summary>
    Task<string?> FindStripeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken);

    /// <summary>
    /// Records that the Stripe subscription belongs to <paramref name="subscriberId"/> unless it is already recorded for
    /// someone; like an alias it never moves. Returns the subscriber it belongs to afterwards.
    /// </summary>
    Task<string> AddStripeSubscriptionAsync(string subscriptionId, string subscriberId, CancellationToken cancellationToken);
}
