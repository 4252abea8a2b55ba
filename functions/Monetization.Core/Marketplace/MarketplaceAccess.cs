using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <param name="Subscriber">The ledger record access was converged to, with its stored version.</param>
/// <param name="ApiKeyId">The buyer's one API key; null when the record turned out to be another name of a buyer and so has none.</param>
public sealed record ConvergedAccess(Subscriber Subscriber, string? ApiKeyId)
{
    public bool HasAccess => Subscriber.Subscribed && Subscriber.MergedInto is null && ApiKeyId is not null;
}

/// <summary>
/// Makes API Gateway match the ledger for one Marketplace buyer: exactly one API key, linked to the buyer, in the
/// Marketplace usage plan and enabled exactly when the ledger says subscribed. The landing and the event flow both
/// come through here, so there is one way a buyer's name is resolved and one way a key is found or created.
/// </summary>
/// <remarks>
/// <para>
/// Convergence always works from the ledger's current record, never from an event, and ends by reading the ledger
/// again: when the record moved while we were calling API Gateway (a concurrent landing or event), the round is
/// repeated from the newer record. Whoever finishes last therefore applied the newest record, so concurrent
/// convergers cannot leave a stale grant or revocation behind.
/// Keys are created disabled and outside the plan and only get access after the ledger names them, so a key that
/// lost a creation race never carries access; it is deleted by whoever sees it (same deterministic name).
/// </para>
/// <para>
/// One buyer, two names. A legacy buyer is keyed by CustomerIdentifier, yet AWS's license events name them by account
/// + license, and only the landing (ResolveCustomer) tells us both. The landing claims the ledger alias
/// <c>account + license -> buyer</c> first and then folds whatever a license event already recorded under the
/// account + license name into the buyer's record, sealing that record (<see cref="Subscriber.MergedInto"/>) and
/// deleting its key. Events resolve the alias before they record, writers of a sealed record are redirected, and an
/// event that recorded under the account + license name while the alias was being claimed sees the alias afterwards
/// and folds itself. Every order therefore ends with one record and one key, decided by the newest event of either name.
/// </para>
/// </remarks>
public sealed partial class MarketplaceAccess
{
    private readonly ISubscriberLedger _ledger;
    private readonly IApiKeys _apiKeys;
    private readonly ApiKeyAccess _keyAccess;
    private readonly MarketplaceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<MarketplaceAccess> _logger;

    // The key-access component is built here rather than injected so every host that already wires this class keeps
    // working without registering it.
    public MarketplaceAccess(
        ISubscriberLedger ledger, IApiKeys apiKeys, MarketplaceOptions options, TimeProvider timeProvider, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _ledger = ledger;
        _apiKeys = apiKeys;
        _keyAccess = new ApiKeyAccess(apiKeys, loggerFactory.CreateLogger<ApiKeyAccess>());
        _options = options;
        _timeProvider = timeProvider;
        _logger = loggerFactory.CreateLogger<MarketplaceAccess>();
    }

    /// <summary>
    /// Converges the buyer's key to the record. A buyer whose access ended has their key disabled only: it stays in the
    /// plan, where API Gateway keeps reporting its usage, until the usage reporter has metered all of it and takes it out.
    /// </summary>
    public async Task<ConvergedAccess> ConvergeAsync(MarketplaceCustomer customer, Subscriber subscriber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(subscriber);
        var current = subscriber;
        for (var round = 0; round < SubscriberLedgerUpdates.MaxAttempts; round++)
        {
            if (current.MergedInto is not null)
            {
                await _keyAccess.DeleteAllAsync(HolderOf(customer), cancellationToken);
                return new ConvergedAccess(current, null);
            }

            var (recorded, key) = await EnsureKeyAsync(customer, current, cancellationToken);
            if (key is null)
            {
                current = recorded;
                continue;
            }

            if (recorded.Subscribed)
            {
                await _keyAccess.GrantAsync(key.Id, key.Enabled, _options.UsagePlanId, cancellationToken);
            }
            else
            {
                await _keyAccess.DisableAsync(key.Id, key.Enabled, cancellationToken);
            }

            var latest = await _ledger.GetAsync(recorded.Id, cancellationToken)
                ?? throw new InvalidOperationException($"Subscriber {recorded.Id} disappeared from the ledger while converging.");
            if (latest.Version == recorded.Version)
            {
                return new ConvergedAccess(recorded, key.Id);
            }

            current = latest;
        }

        throw Contention(subscriber.Id, "converge access");
    }

    /// <summary>The buyer an event's name stands for: an account + license name the landing linked leads to the CustomerIdentifier buyer.</summary>
    public async Task<MarketplaceCustomer> ResolveAsync(MarketplaceCustomer named, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(named);
        if (named.CustomerIdentifier is not null)
        {
            return named;
        }

        var owner = await _ledger.FindAliasAsync(named.SubscriberId, cancellationToken);
        return owner is null ? named : Linked(owner, named);
    }

    /// <summary>
    /// Records that a linked buyer's two names are one buyer (the alias), then folds what was recorded under the
    /// account + license name into the buyer's record.
    /// </summary>
    /// <returns>The buyer's record after the fold, or null when neither name recorded anything yet.</returns>
    public async Task<Subscriber?> LinkAsync(MarketplaceCustomer linked, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var alias = linked.LicenseSubscriberId ?? throw new ArgumentException("The buyer is not known by both names.", nameof(linked));
        var owner = await _ledger.AddAliasAsync(alias, linked.SubscriberId, cancellationToken);
        if (!string.Equals(owner, linked.SubscriberId, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Account and license {alias} already belong to {owner}, not to {linked.SubscriberId}.");
        }

        return await FoldAsync(linked, cancellationToken);
    }

    /// <summary>
    /// Moves the state recorded under the account + license name into the buyer's record, seals that record, and
    /// deletes its key. Idempotent, and safe to run concurrently: a record that changed after it was folded is folded again.
    /// </summary>
    /// <returns>The buyer's record after the fold (null when there was nothing to fold and no record yet).</returns>
    public async Task<Subscriber?> FoldAsync(MarketplaceCustomer linked, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(linked);
        var licenseName = linked.LicenseName ?? throw new ArgumentException("The buyer has no account + license name.", nameof(linked));
        for (var attempt = 0; attempt < SubscriberLedgerUpdates.MaxAttempts; attempt++)
        {
            var source = await _ledger.GetAsync(licenseName.SubscriberId, cancellationToken);
            if (source is null || source.MergedInto is not null)
            {
                if (source is not null)
                {
                    await ConvergeAsync(licenseName, source, cancellationToken);
                }

                return await _ledger.GetAsync(linked.SubscriberId, cancellationToken);
            }

            var folded = await _ledger.UpdateAsync(
                linked.SubscriberId,
                target => SubscriptionRules.Merge(target, source, linked, _timeProvider.GetUtcNow()) is { } next
                    ? LedgerChange<bool>.Write(next, true)
                    : LedgerChange<bool>.Keep(false),
                known: null,
                cancellationToken);
            var sealedUpdate = await _ledger.UpdateAsync(
                source.Id,
                current => current is not null && current.Version == source.Version
                    ? LedgerChange<bool>.Write(Seal(current, linked.SubscriberId), true)
                    : LedgerChange<bool>.Keep(false),
                new KnownRecord(source),
                cancellationToken);
            if (sealedUpdate.Written)
            {
                LogFolded(source.Id, linked.SubscriberId);
                await ConvergeAsync(licenseName, sealedUpdate.Stored!, cancellationToken);
                return folded.Stored;
            }
        }

        throw Contention(licenseName.SubscriberId, "fold into " + linked.SubscriberId);
    }

    /// <summary>The CustomerIdentifier buyer an alias led to, also known by <paramref name="licenseName"/>.</summary>
    public static MarketplaceCustomer Linked(string ownerSubscriberId, MarketplaceCustomer licenseName)
    {
        ArgumentNullException.ThrowIfNull(licenseName);
        var owner = MarketplaceCustomer.FromCustomerIdentifierSubscriberId(ownerSubscriberId)
            ?? throw new InvalidOperationException($"Alias {licenseName.SubscriberId} leads to {ownerSubscriberId}, which names no CustomerIdentifier buyer.");
        return owner.Link(licenseName);
    }

    private static KeyHolder HolderOf(MarketplaceCustomer customer) =>
        new(customer.SubscriberId, Channel.Marketplace, customer.ApiKeyName, customer.ApiKeyCustomerId);

    private Subscriber Seal(Subscriber source, string buyerId) => source with
    {
        MergedInto = buyerId,
        Subscribed = false,
        Status = SubscriberStatus.Merged,
        ApiKeyId = null,
        UpdatedAt = _timeProvider.GetUtcNow(),
    };

    private static DependencyUnavailableException Contention(string subscriberId, string operation) =>
        new("ledger", operation, new InvalidOperationException($"Subscriber {subscriberId} kept changing; gave up after {SubscriberLedgerUpdates.MaxAttempts} attempts."));

    /// <returns>The record as last read or written, and its key; no key when the record is (now) sealed.</returns>
    private async Task<(Subscriber Recorded, ApiKey? Key)> EnsureKeyAsync(
        MarketplaceCustomer customer, Subscriber subscriber, CancellationToken cancellationToken)
    {
        var holder = HolderOf(customer);
        var current = subscriber;
        for (var attempt = 0; attempt < SubscriberLedgerUpdates.MaxAttempts; attempt++)
        {
            if (current.MergedInto is not null)
            {
                return (current, null);
            }

            if (current.ApiKeyId is { } recordedId)
            {
                var recorded = await _apiKeys.GetAsync(recordedId, includeValue: false, cancellationToken);
                if (recorded is not null)
                {
                    await _keyAccess.DeleteStraysAsync(holder, recorded.Id, cancellationToken);
                    return (current, await _keyAccess.EnsureCustomerIdAsync(recorded, holder, cancellationToken));
                }

                LogRecordedKeyMissing(current.Id, recordedId);
            }

            var candidate = await _keyAccess.FindOrCreateAsync(holder, includeValue: false, cancellationToken);
            var missing = current.ApiKeyId;
            var update = await _ledger.UpdateAsync(
                current.Id,
                record => RecordKey(record, candidate.Id, missing),
                new KnownRecord(current),
                cancellationToken);
            current = update.Stored!;
        }

        throw Contention(subscriber.Id, "record API key");
    }

    /// <summary>Names the candidate in the record unless another existing key got there first (then the next round adopts that one).</summary>
    private LedgerChange<bool> RecordKey(Subscriber? record, string candidateId, string? missingId)
    {
        if (record is null)
        {
            throw new InvalidOperationException("The subscriber disappeared from the ledger while recording its key.");
        }

        var free = record.ApiKeyId is null || string.Equals(record.ApiKeyId, missingId, StringComparison.Ordinal);
        if (record.MergedInto is not null || !free || string.Equals(record.ApiKeyId, candidateId, StringComparison.Ordinal))
        {
            return LedgerChange<bool>.Keep(false);
        }

        return LedgerChange<bool>.Write(
            record with { ApiKeyId = candidateId, UsagePlanId = _options.UsagePlanId, UpdatedAt = _timeProvider.GetUtcNow() },
            true);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recorded API key {ApiKeyId} of {SubscriberId} no longer exists; finding or creating another")]
    private partial void LogRecordedKeyMissing(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Folded Marketplace subscriber {SourceId} into {SubscriberId}: both name one buyer")]
    private partial void LogFolded(string sourceId, string subscriberId);
}
