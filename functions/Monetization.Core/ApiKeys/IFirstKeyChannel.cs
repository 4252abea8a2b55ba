using Monetization.Core.Ledger;

namespace Monetization.Core.ApiKeys;

/// <summary>How the key minting consumer imports one subscriber's first key.</summary>
/// <param name="Holder">Who the key is for: its name and description.</param>
/// <param name="UsagePlanId">The plan the key gives access through.</param>
/// <param name="Granted">
/// Whether the key is imported enabled and already in <paramref name="UsagePlanId"/>; otherwise it is imported disabled
/// and outside every plan, and the channel grants it once it is recorded (a key that must carry a <c>customerId</c>,
/// which the import file cannot set, or a buyer whose subscription is not confirmed yet).
/// </param>
public sealed record FirstKey(KeyHolder Holder, string UsagePlanId, bool Granted);

/// <summary>What the key minting consumer (<see cref="MintKeys"/>) needs of a channel whose subscribers await a key.</summary>
public interface IFirstKeyChannel
{
    Channel Channel { get; }

    /// <summary>How the subscriber's key is imported.</summary>
    FirstKey KeyOf(Subscriber record);

    /// <summary>
    /// A redelivered request: the id of a key an earlier delivery imported but did not record, found by its name and
    /// brought to what the import gives; null when there is none. The consumer then records it as it records an import.
    /// </summary>
    Task<string?> AdoptAsync(Subscriber record, CancellationToken cancellationToken);

    /// <summary>
    /// What follows once the subscriber's record names its key (again after a redelivery, so idempotent): Stripe's
    /// customer names the key, a Marketplace buyer's key gets its <c>customerId</c> and, when subscribed, its access.
    /// </summary>
    /// <param name="imported">How this attempt just imported the key; null when the key's state is not known (adopted, or a redelivery).</param>
    Task FinishAsync(Subscriber stored, string keyId, FirstKey? imported, CancellationToken cancellationToken);
}
