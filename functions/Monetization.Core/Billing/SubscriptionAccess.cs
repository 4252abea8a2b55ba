using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

/// <summary>
/// Makes a Stripe subscriber's key follow the subscription's current status: decides with <see cref="BillingRules"/>,
/// grants or revokes through <see cref="ApiKeyAccess"/>, and records the outcome. Both halves are idempotent, so a
/// retry after a failure in between converges.
/// </summary>
public sealed class SubscriptionAccess(ISubscriberLedger ledger, ApiKeyAccess access, BillingOptions options, TimeProvider clock)
{
    public async Task<AccessChange> FollowAsync(Subscriber record, BillingSubscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(subscription);
        var now = clock.GetUtcNow();
        var decision = BillingRules.Decide(record, subscription, now, options.PastDueGrace);
        var planId = record.UsagePlanId ?? options.StripeUsagePlanId;
        if (record.ApiKeyId is { } keyId)
        {
            // The stored enabled flag is unknown here: claiming the opposite makes each call set it.
            var key = new ApiKey(keyId, string.Empty, Enabled: decision.Access == AccessChange.Revoke, CustomerId: null, new Dictionary<string, string>(), Value: null);
            switch (decision.Access)
            {
                case AccessChange.Grant:
                    await access.GrantAsync(key, planId, cancellationToken);
                    break;
                case AccessChange.Revoke:
                    await access.RevokeAsync(key, planId, cancellationToken);
                    break;
            }
        }

        if (decision.Next is not null)
        {
            await ledger.UpdateAsync(
                record.Id,
                current => current is null
                    ? LedgerChange<bool>.Keep(false)
                    : BillingRules.Decide(current, subscription, now, options.PastDueGrace).Next is { } next
                        ? LedgerChange<bool>.Write(next, true)
                        : LedgerChange<bool>.Keep(false),
                new KnownRecord(record),
                cancellationToken);
        }

        return decision.Access;
    }
}
