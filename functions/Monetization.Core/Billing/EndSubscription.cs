using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

public enum EndSubscriptionOutcome
{
    /// <summary>
    /// Access is withdrawn; the subscription is canceled with a final invoice once the key's usage has settled (at once
    /// for a subscriber without a key).
    /// </summary>
    Ending,

    /// <summary>The subscriber has no Stripe subscription to end.</summary>
    NotSubscribed,
}

/// <summary>
/// Ends a Stripe subscriber's subscription from our side. With a key, access is withdrawn now and the usage reporter
/// cancels the subscription with a final invoice for the usage not yet invoiced once the key's usage has settled (Stripe
/// drops uninvoiced usage otherwise, and usage sent after the final invoice would be billed by nothing). Without a key
/// there is no usage, so the subscription is canceled now. Repeating it is harmless: the request is recorded once, and
/// Stripe's answer to a second cancel counts as done.
/// </summary>
public sealed partial class EndSubscription(ISubscriberLedger ledger, IBilling billing, SubscriptionAccess access, ILogger<EndSubscription> logger)
{
    public async Task<EndSubscriptionOutcome> EndAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        var record = await ledger.GetAsync(subscriberId, cancellationToken);
        if (record is not { Channel: Channel.Stripe, StripeSubscriptionId: { } subscriptionId })
        {
            return EndSubscriptionOutcome.NotSubscribed;
        }

        await access.RequestEndAsync(record, cancellationToken);
        if (record.ApiKeyId is null)
        {
            await billing.CancelSubscriptionAsync(subscriptionId, $"end-subscription:{subscriberId}:{subscriptionId}", cancellationToken);
        }

        LogEnding(logger, subscriberId, subscriptionId);
        return EndSubscriptionOutcome.Ending;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Ending subscription {SubscriptionId} of {SubscriberId}: access withdrawn, canceled with a final invoice once its usage settled")]
    private static partial void LogEnding(ILogger logger, string subscriberId, string subscriptionId);
}
