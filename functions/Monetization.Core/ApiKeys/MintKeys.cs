using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.ApiKeys;

/// <summary>
/// The key minting queue's consumer: the subscribers of a batch who still await a key get one each, all from one
/// ImportApiKeys call, and the ledger records them; the account page then shows each value once. The subscriber's
/// channel says how its key is imported and what follows once it is recorded (<see cref="IFirstKeyChannel"/>: Stripe's
/// keys and confirmed Marketplace buyers' known by account + license arrive enabled in their plan, other buyers'
/// disabled and outside it until they carry the buyer's <c>customerId</c> and Marketplace has confirmed). Imports take their turn at the account's API Gateway budget, whose own slow pace for them
/// (<c>ApiGatewayBudget:ImportsPerSecond</c>) lets batches fill, so a launch's flood costs about one control-plane call
/// a batch instead of five a person.
/// </summary>
/// <remarks>
/// Duplicates and reorderings are normal: a request for a subscriber who has a key, or whose access ended meanwhile,
/// changes nothing. A redelivered request may find a key an earlier attempt imported but did not record (a crash
/// between the two): it is found by its name and adopted, never made twice. A key whose subscriber got one meanwhile,
/// or lost access before the key was recorded, was never shown and is deleted; so is one made for a plan the subscriber
/// left meanwhile (a free subscriber who paid), whose request is delivered again for a key in the new plan.
/// </remarks>
public sealed partial class MintKeys(
    ISubscriberLedger ledger,
    ApiKeyAccess access,
    IEnumerable<IFirstKeyChannel> channels,
    KeyCeiling ceiling,
    TimeProvider clock,
    ILogger<MintKeys> logger)
{
    /// <summary>Rows of one import: the most a batch brings (the queue's batch size).</summary>
    public const int MaxKeysPerImport = 100;

    private readonly Dictionary<Channel, IFirstKeyChannel> _channels = channels.ToDictionary(c => c.Channel);

    /// <returns>The messages that failed and must be delivered again (the others are done), and what was made.</returns>
    public async Task<MintOutcome> MintAsync(IReadOnlyList<QueuedKeyMint> batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var bySubscriber = batch.GroupBy(m => m.Request.SubscriberId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var subscribers = bySubscriber.Keys.ToList();
        var outcomes = await Task.WhenAll(subscribers.Select(id => PrepareAsync(id, bySubscriber[id].Max(m => m.Deliveries), cancellationToken)));
        var failed = new HashSet<string>(StringComparer.Ordinal);
        var wanting = new List<Subscriber>();
        foreach (var (id, outcome) in subscribers.Zip(outcomes))
        {
            switch (outcome)
            {
                case Prepared.Failed:
                    failed.UnionWith(bySubscriber[id].Select(m => m.MessageId));
                    break;
                case Prepared.Wants wants:
                    wanting.Add(wants.Record);
                    break;
            }
        }

        IEnumerable<string> MessagesOf(IEnumerable<Subscriber> records) => records.SelectMany(r => bySubscriber[r.Id].Select(m => m.MessageId));
        var (minted, refused) = (0, 0);
        foreach (var chunk in wanting.Chunk(MaxKeysPerImport))
        {
            int room;
            try
            {
                room = await ceiling.ReserveAsync(chunk.Length, access.CountAccountKeysAsync, cancellationToken);
            }
            catch (DependencyUnavailableException e)
            {
                LogImportFailed(logger, chunk.Length, e.Message);
                failed.UnionWith(MessagesOf(chunk));
                continue;
            }

            if (room < chunk.Length)
            {
                // At the ceiling: these wait (delivered again later, and asked again from the account page), told why.
                var waiting = chunk[room..];
                refused += waiting.Length;
                failed.UnionWith(MessagesOf(waiting));
                LogAtCeiling(logger, waiting.Length, ceiling.Limit);
                await Task.WhenAll(waiting.Select(r => MarkRefusedAsync(r, cancellationToken)));
            }

            if (room > 0)
            {
                var now = chunk[..room];
                var (made, done) = await ImportAsync(now, cancellationToken);
                minted += made;
                if (!done)
                {
                    failed.UnionWith(MessagesOf(now));
                }
            }
        }

        return new MintOutcome([.. failed], minted, refused);
    }

    private async Task MarkRefusedAsync(Subscriber record, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        try
        {
            await ledger.UpdateAsync(
                record.Id,
                current => current is { AwaitsKey: true, KeyRefusedAt: null } ? current with { KeyRefusedAt = now, UpdatedAt = now } : null,
                new KnownRecord(record),
                cancellationToken);
        }
        catch (DependencyUnavailableException e)
        {
            // The request is delivered again anyway; the page learns of the wait then.
            LogFailed(logger, record.Id, e.Message);
        }
    }

    private async Task<Prepared> PrepareAsync(string subscriberId, int deliveries, CancellationToken cancellationToken)
    {
        try
        {
            var record = await ledger.GetAsync(subscriberId, cancellationToken);
            if (record is null || !_channels.TryGetValue(record.Channel, out var channel))
            {
                return new Prepared.Done();
            }

            if (!record.AwaitsKey)
            {
                // Has its key (a duplicate request), or no access any more: nothing to make. A redelivery may be the
                // retry of an attempt that recorded the key but could not finish it.
                if (record.ApiKeyId is { } keyId && deliveries > 1)
                {
                    await channel.FinishAsync(record, keyId, imported: null, cancellationToken);
                }

                return new Prepared.Done();
            }

            if (deliveries > 1 && await channel.AdoptAsync(record, cancellationToken) is { } earlier)
            {
                return await RecordAsync(record, channel.KeyOf(record), earlier, imported: false, cancellationToken) ? new Prepared.Done() : new Prepared.Failed();
            }

            return new Prepared.Wants(record);
        }
        catch (DependencyUnavailableException e)
        {
            LogFailed(logger, subscriberId, e.Message);
            return new Prepared.Failed();
        }
    }

    /// <returns>How many keys were made, and whether every one of them was recorded.</returns>
    private async Task<(int Made, bool Done)> ImportAsync(IReadOnlyList<Subscriber> records, CancellationToken cancellationToken)
    {
        var keys = records.Select(r => _channels[r.Channel].KeyOf(r)).ToList();
        IReadOnlyList<string> ids;
        try
        {
            ids = await access.ImportAsync(keys, cancellationToken);
        }
        catch (DependencyUnavailableException e)
        {
            // Nothing was made (the import is all or nothing), so the room taken for it is free again.
            ceiling.Release(records.Count);
            LogImportFailed(logger, records.Count, e.Message);
            return (0, false);
        }

        LogImported(logger, ids.Count);
        var recorded = await Task.WhenAll(records.Zip(keys, ids).Select(async t =>
        {
            try
            {
                return await RecordAsync(t.First, t.Second, t.Third, imported: true, cancellationToken);
            }
            catch (DependencyUnavailableException e)
            {
                // Redelivered, the request finds this key by its name and records it then.
                LogFailed(logger, t.First.Id, e.Message);
                return false;
            }
        }));
        return (ids.Count, recorded.All(r => r));
    }

    /// <summary>
    /// Records the key if the subscriber still awaits one in the plan it was made for, otherwise the key, never shown,
    /// goes; then the channel finishes it. A failure of that last step fails the request, whose redelivery finds the key
    /// recorded and finishes it again.
    /// </summary>
    /// <param name="imported">Whether this attempt imported the key as <paramref name="key"/> says (else it adopted it).</param>
    /// <returns>
    /// Whether the request is done; not when the subscriber moved to another plan while the key was made (a free
    /// subscriber who paid meanwhile): the key went, and the redelivered request makes one in the plan they are in now.
    /// </returns>
    private async Task<bool> RecordAsync(Subscriber record, FirstKey key, string keyId, bool imported, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        bool ForThisKey(Subscriber current) => string.Equals(current.UsagePlanId ?? key.UsagePlanId, key.UsagePlanId, StringComparison.Ordinal);
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is { AwaitsKey: true } && ForThisKey(current)
                ? current with { ApiKeyId = keyId, UsagePlanId = key.UsagePlanId, KeyRequestedAt = null, KeyRefusedAt = null, UpdatedAt = now }
                : null,
            new KnownRecord(record),
            cancellationToken);
        if (update.Stored is not { } stored || !string.Equals(stored.ApiKeyId, keyId, StringComparison.Ordinal))
        {
            await access.DiscardUnrecordedAsync(key.Holder, keyId, update.Stored?.ApiKeyId, cancellationToken);
            return update.Stored is not { AwaitsKey: true };
        }

        await _channels[stored.Channel].FinishAsync(stored, keyId, imported ? key : null, cancellationToken);
        return true;
    }

    private abstract record Prepared
    {
        public sealed record Done : Prepared;

        public sealed record Failed : Prepared;

        public sealed record Wants(Subscriber Record) : Prepared;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} first keys wait: the account holds the {Limit} API keys the key minting consumer may fill (API Gateway allows 10,000 per account and region); delete unused keys or shorten the ended keys' retention")]
    private static partial void LogAtCeiling(ILogger logger, int count, int limit);

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported {Count} API keys in one call")]
    private static partial void LogImported(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Importing {Count} API keys failed; their requests are delivered again: {Reason}")]
    private static partial void LogImportFailed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The key of {SubscriberId} is delivered again: {Reason}")]
    private static partial void LogFailed(ILogger logger, string subscriberId, string reason);
}

/// <param name="Failed">Messages to deliver again.</param>
/// <param name="Minted">Keys made.</param>
/// <param name="RefusedAtCeiling">Subscribers whose key waits because the account's keys are at the consumer's ceiling.</param>
public sealed record MintOutcome(IReadOnlyList<string> Failed, int Minted, int RefusedAtCeiling);
