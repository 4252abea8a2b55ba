namespace Monetization.Core.Marketplace;

/// <summary>
/// What became of one Marketplace subscription event, from the rules' decision through the flow to the delivery's
/// record: the rules decide <see cref="Applied"/>, <see cref="Duplicate"/> or <see cref="Stale"/>; the flow adds
/// <see cref="Ignored"/>; the delivery adds <see cref="Failed"/>.
/// </summary>
public enum SubscriptionEventStatus
{
    /// <summary>The event was newer than the ledger and is now recorded.</summary>
    Applied,

    /// <summary>The ledger already held this event (same time, same effect).</summary>
    Duplicate,

    /// <summary>The ledger holds a newer event of the same kind; nothing was granted or revoked because of this one.</summary>
    Stale,

    /// <summary>Acknowledged without effect (a product we do not sell, or no buyer we can key); logged as a warning.</summary>
    Ignored,

    /// <summary>Malformed, or applying it faulted: the delivery must fail so Lambda retries and finally dead-letters it.</summary>
    Failed,
}
