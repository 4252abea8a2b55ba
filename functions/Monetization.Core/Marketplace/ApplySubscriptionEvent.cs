using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

public enum SubscriptionEventStatus
{
    /// <summary>The event was newer than the ledger and is now recorded.</summary>
    Applied,

    /// <summary>The ledger already held this event.</summary>
    Duplicate,

    /// <summary>A newer event of the same kind was already recorded; nothing was granted or revoked because of it.</summary>
    Stale,

    /// <summary>The product is not one we sell; nothing was touched.</summary>
    UnknownProduct,
}

/// <param name="HasAccess">Whether the buyer has access after convergence (null when nothing was touched).</param>
public sealed record SubscriptionEventResult(SubscriptionEventStatus Status, bool? HasAccess);

/// <summary>
/// Applies one Marketplace lifecycle event: decide against the ledger, record the decision with a conditional write,
/// then converge API Gateway to whatever the ledger now says.
/// </summary>
/// <remarks>
/// The ledger is written before API Gateway is touched, and convergence reads the ledger rather than the event. A crash
/// after the write leaves the intent recorded; the redelivery is then a duplicate, which still converges. A stale or
/// duplicate event therefore repairs drift toward the recorded state but can never re-grant or revoke by itself.
/// </remarks>
public sealed partial class ApplySubscriptionEvent(
    ISubscriberLedger ledger,
    MarketplaceAccess access,
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
            return new SubscriptionEventResult(SubscriptionEventStatus.UnknownProduct, null);
        }

        var (kind, recorded) = await RecordAsync(subscriptionEvent, cancellationToken);
        LogDecided(subscriptionEvent.EventId, subscriptionEvent.Action.WireName(), subscriptionEvent.Customer.SubscriberId, subscriptionEvent.Timestamp, kind);
        var converged = await access.ConvergeAsync(subscriptionEvent.Customer, recorded, cancellationToken);
        var status = kind switch
        {
            DecisionKind.Applied => SubscriptionEventStatus.Applied,
            DecisionKind.Duplicate => SubscriptionEventStatus.Duplicate,
            _ => SubscriptionEventStatus.Stale,
        };
        return new SubscriptionEventResult(status, converged.HasAccess);
    }

    private async Task<(DecisionKind Kind, Subscriber Recorded)> RecordAsync(SubscriptionEvent subscriptionEvent, CancellationToken cancellationToken)
    {
        var subscriberId = subscriptionEvent.Customer.SubscriberId;
        for (var attempt = 0; attempt < MarketplaceAccess.MaxAttempts; attempt++)
        {
            var current = await ledger.GetAsync(subscriberId, cancellationToken);
            var decision = SubscriptionRules.Decide(current, subscriptionEvent, timeProvider.GetUtcNow());
            if (decision.Next is null)
            {
                // Stale or duplicate events are decided against a record, so one exists.
                return (decision.Kind, current!);
            }

            var written = current is null
                ? await ledger.TryCreateAsync(decision.Next, cancellationToken)
                : await ledger.TryReplaceAsync(decision.Next, current.Version, cancellationToken);
            if (written)
            {
                return (decision.Kind, decision.Next with { Version = (current?.Version ?? 0) + 1 });
            }
        }

        throw new InvalidOperationException($"Subscriber {subscriberId} kept changing; event {subscriptionEvent.EventId} was not recorded after {MarketplaceAccess.MaxAttempts} attempts.");
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored Marketplace event {EventId} for product {ProductCode}, which is not one we sell")]
    private partial void LogUnknownProduct(string eventId, string productCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace event {EventId} ({Action}) for {SubscriberId} at {EventTime}: {Decision}")]
    private partial void LogDecided(string eventId, string action, string subscriberId, DateTimeOffset eventTime, DecisionKind decision);
}
