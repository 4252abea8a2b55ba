using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

/// <summary>
/// Makes a Stripe subscriber's key follow the subscription's current status: decides with <see cref="BillingRules"/>,
/// grants or disables through <see cref="ApiKeyAccess"/>, and records the outcome. Both halves are idempotent, so a
/// retry after a failure in between converges. Ending access is the first of three steps: the key is disabled here and
/// the record says since when it settles; the usage reporter bills what the key used meanwhile, like any other usage,
/// and takes the key out of the plan once nothing of it is left to bill.
/// </summary>
public sealed class SubscriptionAccess(ISubscriberLedger ledger, ApiKeyAccess access, BillingOptions options, StripeChannelOptions channel, TimeProvider clock)
{
    public async Task<AccessChange> FollowAsync(Subscriber record, BillingSubscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(subscription);
        var now = clock.GetUtcNow();
        var decision = BillingRules.Decide(record, subscription, now, options.PastDueGrace);
        if (record.ApiKeyId is { } keyId)
        {
            switch (decision.Access)
            {
                case AccessChange.Grant:
                    await access.GrantAsync(keyId, enabled: null, record.UsagePlanId ?? channel.StripeUsagePlanId, cancellationToken);
                    break;
                case AccessChange.Revoke:
                    await access.DisableAsync(keyId, enabled: null, cancellationToken);
                    break;
            }
        }

        if (decision.Next is not null)
        {
            await ledger.UpdateAsync(
                record.Id,
                current => current is null ? null : BillingRules.Decide(current, subscription, now, options.PastDueGrace).Next,
                new KnownRecord(record),
                cancellationToken);
        }

        return decision.Access;
    }

    /// <summary>
    /// Ends the subscription from our side: the key is disabled and the record asks for the end, so the usage reporter
    /// cancels the subscription with its final invoice once the key's usage has settled (the invoice then bills all of
    /// it), and events for the still-active subscription keep access withdrawn meanwhile.
    /// </summary>
    public async Task RequestEndAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.ApiKeyId is { } keyId)
        {
            await access.DisableAsync(keyId, enabled: null, cancellationToken);
        }

        var now = clock.GetUtcNow();
        await ledger.UpdateAsync(
            record.Id,
            current => current is null || current.EndRequestedAt is not null
                ? null
                : current with
                {
                    EndRequestedAt = now,
                    Subscribed = false,
                    SettlingSince = current.ApiKeyId is null ? null : current.SettlingSince ?? now,
                    UpdatedAt = now,
                },
            new KnownRecord(record),
            cancellationToken);
    }
}
