using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Core.Marketplace;

/// <param name="Status">Applied, Duplicate, Stale or Ignored.</param>
/// <param name="HasAccess">Whether the buyer has access after convergence (null when nothing was touched).</param>
/// <param name="Reason">Why the event was ignored; null otherwise.</param>
public sealed record SubscriptionEventResult(SubscriptionEventStatus Status, bool? HasAccess, string? Reason = null);

/// <summary>
/// Applies one Marketplace lifecycle event: find the buyer the event names, decide against the ledger, record the
/// decision with a conditional write, then converge API Gateway to whatever the ledger now says.
/// </summary>
/// <remarks>
/// The ledger is written before API Gateway is touched, and convergence reads the ledger rather than the event. A crash
/// after the write leaves the intent recorded; the redelivery is then a duplicate, which still converges. A stale or
/// duplicate event therefore repairs drift toward the recorded state but can never re-grant or revoke by itself.
/// An event naming the buyer by account + license lands on the buyer's one record once the landing has linked the two
/// names (see <see cref="MarketplaceIdentity"/>).
/// When the event ends the subscription, the buyer's key is disabled and stays in the plan while it settles: what it
/// counted so far is metered at once, inside the hour Marketplace still takes the buyer's records, and the hourly
/// report meters the rest through the same claims before it takes the key out of the plan.
/// </remarks>
public sealed partial class ApplySubscriptionEvent(
    ISubscriberLedger ledger,
    MarketplaceIdentity identity,
    MarketplaceAccess access,
    RequestKey keys,
    MeterMarketplaceUsage usage,
    MarketplaceOptions options,
    TimeProvider timeProvider,
    ILogger<ApplySubscriptionEvent> logger)
{
    public async Task<SubscriptionEventResult> ExecuteAsync(SubscriptionEvent subscriptionEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriptionEvent);
        if (!options.Sells(subscriptionEvent.ProductCode))
        {
            LogUnknownProduct(subscriptionEvent.EventId, subscriptionEvent.ProductCode);
            return new SubscriptionEventResult(SubscriptionEventStatus.Ignored, null, "the product is not one we sell");
        }

        var named = subscriptionEvent.Customer;
        var buyer = await identity.ResolveAsync(named, cancellationToken);
        var (status, recorded) = await RecordAsync(subscriptionEvent with { Customer = buyer }, cancellationToken);
        if (recorded.MergedInto is { } owner)
        {
            // The landing linked the names between our alias lookup and our write: the sealed record points onward. The
            // fold that sealed it may have been cut short, so finish it (folding again is harmless) before recording.
            buyer = MarketplaceIdentity.Linked(owner, named);
            await identity.FoldAsync(buyer, cancellationToken);
            (status, recorded) = await RecordAsync(subscriptionEvent with { Customer = buyer }, cancellationToken);
        }

        LogDecided(subscriptionEvent.EventId, subscriptionEvent.Action.WireName(), buyer.SubscriberId, subscriptionEvent.Timestamp, status);
        var converged = await access.ConvergeAsync(recorded, keys, cancellationToken);
        if (buyer.CustomerIdentifier is null
            && await ledger.FindAliasAsync(named.SubscriberId, cancellationToken) is { } linkedOwner)
        {
            // The alias was claimed while we recorded under the account + license name, perhaps after the landing
            // folded that record: fold it ourselves so the buyer's one record holds this event.
            var linked = MarketplaceIdentity.Linked(linkedOwner, named);
            if (await identity.FoldAsync(linked, cancellationToken) is { } folded)
            {
                converged = await access.ConvergeAsync(folded, keys, cancellationToken);
            }
        }

        if (SubscriptionRules.EndsSubscription(subscriptionEvent.Action) && converged.Key is { } key)
        {
            await MeterFinalUsageAsync(subscriptionEvent.EventId, key.Id, cancellationToken);
        }

        return new SubscriptionEventResult(status, converged.HasAccess);
    }

    /// <returns>The decision and the record as stored; a sealed record (another name of a buyer) is returned untouched.</returns>
    private async Task<(SubscriptionEventStatus Status, Subscriber Recorded)> RecordAsync(SubscriptionEvent subscriptionEvent, CancellationToken cancellationToken)
    {
        var update = await ledger.UpdateAsync(
            subscriptionEvent.Customer.SubscriberId,
            current =>
            {
                if (current?.MergedInto is not null)
                {
                    return LedgerChange<SubscriptionEventStatus>.Keep(SubscriptionEventStatus.Stale);
                }

                var decision = SubscriptionRules.Decide(current, subscriptionEvent, timeProvider.GetUtcNow());
                return decision.Next is { } next
                    ? LedgerChange<SubscriptionEventStatus>.Write(next, decision.Status)
                    : LedgerChange<SubscriptionEventStatus>.Keep(decision.Status);
            },
            known: null,
            cancellationToken);

        // Stale or duplicate events are decided against a record, so one exists.
        return (update.Result, update.Stored!);
    }

    /// <summary>
    /// Meters what the key counted so far while Marketplace still takes the buyer's records (one hour after the
    /// subscription ends). The key is settling, so the hourly report meters it too, and whatever this misses; a failure
    /// here is left to it rather than failing the event.
    /// </summary>
    private async Task MeterFinalUsageAsync(string eventId, string apiKeyId, CancellationToken cancellationToken)
    {
        try
        {
            var flushed = await usage.FlushAsync(apiKeyId, cancellationToken);
            LogFlushed(eventId, apiKeyId, flushed.UnitsReported, flushed.KeysDeferred, flushed.Failures);
        }
        catch (DependencyUnavailableException e)
        {
            LogFlushFailed(e, eventId, apiKeyId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace event {EventId}: metering key {ApiKeyId} now failed; the hourly report meters it while the key settles")]
    private partial void LogFlushFailed(Exception exception, string eventId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored Marketplace event {EventId} for product {ProductCode}, which is not one we sell")]
    private partial void LogUnknownProduct(string eventId, string productCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace event {EventId} ({Action}) for {SubscriberId} at {EventTime}: {Decision}")]
    private partial void LogDecided(string eventId, string action, string subscriberId, DateTimeOffset eventTime, SubscriptionEventStatus decision);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace event {EventId} ended a subscription: key {ApiKeyId} metered {Units} more units ({Deferred} deferred to the next hour, {Failures} not accepted yet)")]
    private partial void LogFlushed(string eventId, string apiKeyId, long units, int deferred, int failures);
}
