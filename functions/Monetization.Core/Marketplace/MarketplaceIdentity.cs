using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <summary>
/// Who a Marketplace buyer is in the ledger: one buyer, possibly two names, always one record.
/// </summary>
/// <remarks>
/// A legacy buyer is keyed by CustomerIdentifier, yet AWS's license events name them by account + license, and only the
/// landing (ResolveCustomer) tells us both. The landing claims the ledger alias <c>account + license -> buyer</c> first
/// and then folds whatever a license event already recorded under the account + license name into the buyer's record:
/// that record is sealed (<see cref="Subscriber.MergedInto"/>, its events kept) before its events are merged, so from
/// then on every writer of it is redirected, and a fold cut short is finished by the next one (merging is idempotent).
/// Events resolve the alias before they record, and an event that recorded under the account + license name while the
/// alias was being claimed sees the alias afterwards and folds itself. Every order therefore ends with one record and
/// one key, decided by the newest event of either name.
/// </remarks>
public sealed partial class MarketplaceIdentity(
    ISubscriberLedger ledger, MarketplaceAccess access, TimeProvider timeProvider, ILogger<MarketplaceIdentity> logger)
{
    /// <summary>The buyer an event's name stands for: an account + license name the landing linked leads to the CustomerIdentifier buyer.</summary>
    public async Task<MarketplaceCustomer> ResolveAsync(MarketplaceCustomer named, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(named);
        if (named.CustomerIdentifier is not null)
        {
            return named;
        }

        var owner = await ledger.FindAliasAsync(named.SubscriberId, cancellationToken);
        return owner is null ? named : Linked(owner, named);
    }

    /// <summary>
    /// Records that a linked buyer's two names are one buyer (the alias), then folds what was recorded under the
    /// account + license name into the buyer's record.
    /// </summary>
    public async Task LinkAsync(MarketplaceCustomer linked, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var alias = linked.LicenseSubscriberId ?? throw new ArgumentException("The buyer is not known by both names.", nameof(linked));
        var owner = await ledger.AddAliasAsync(alias, linked.SubscriberId, cancellationToken);
        if (!string.Equals(owner, linked.SubscriberId, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Account and license {alias} already belong to {owner}, not to {linked.SubscriberId}.");
        }

        await FoldAsync(linked, cancellationToken);
    }

    /// <summary>
    /// Seals the record kept under the buyer's account + license name, merges its events into the buyer's record, and
    /// deletes the sealed record's key. Idempotent, and safe to run concurrently: a write to the record before the seal
    /// makes the seal decide again; after it, the write is redirected to the buyer.
    /// </summary>
    /// <returns>The buyer's record after the fold (null when neither name recorded anything yet).</returns>
    public async Task<Subscriber?> FoldAsync(MarketplaceCustomer linked, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var licenseName = linked.LicenseName ?? throw new ArgumentException("The buyer has no account + license name.", nameof(linked));
        var now = timeProvider.GetUtcNow();
        var seal = await ledger.UpdateAsync(
            licenseName.SubscriberId,
            current => current is { MergedInto: null } ? Seal(current, linked.SubscriberId, now) : null,
            known: null,
            cancellationToken);
        if (seal.Stored is not { } source)
        {
            return await ledger.GetAsync(linked.SubscriberId, cancellationToken);
        }

        if (!string.Equals(source.MergedInto, linked.SubscriberId, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Subscriber {source.Id} was folded into {source.MergedInto}, not into {linked.SubscriberId}.");
        }

        if (seal.Written)
        {
            LogFolded(source.Id, linked.SubscriberId);
        }

        var folded = await ledger.UpdateAsync(
            linked.SubscriberId, target => SubscriptionRules.Merge(target, source, linked, now), known: null, cancellationToken);
        await access.ConvergeAsync(source, keys: null, cancellationToken);
        return folded.Stored;
    }

    /// <summary>The CustomerIdentifier buyer an alias led to, also known by <paramref name="licenseName"/>.</summary>
    public static MarketplaceCustomer Linked(string ownerSubscriberId, MarketplaceCustomer licenseName)
    {
        ArgumentNullException.ThrowIfNull(licenseName);
        var owner = MarketplaceCustomer.FromCustomerIdentifierSubscriberId(ownerSubscriberId)
            ?? throw new InvalidOperationException($"Alias {licenseName.SubscriberId} leads to {ownerSubscriberId}, which names no CustomerIdentifier buyer.");
        return owner.Link(licenseName);
    }

    /// <summary>The sealed record keeps its events (the fold merges them, again if cut short) but gives up access and its key.</summary>
    private static Subscriber Seal(Subscriber source, string buyerId, DateTimeOffset now) => source with
    {
        MergedInto = buyerId,
        Subscribed = false,
        Status = SubscriberStatus.Merged,
        ApiKeyId = null,
        SettlingSince = null,
        KeyDeleteAt = null,
        UpdatedAt = now,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Folded Marketplace subscriber {SourceId} into {SubscriberId}: both name one buyer")]
    private partial void LogFolded(string sourceId, string subscriberId);
}
