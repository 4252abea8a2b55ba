using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Core.Billing;

/// <summary>
/// Makes a Stripe subscriber's key follow the subscription's current status: decides with <see cref="BillingRules"/>,
/// grants or revokes through <see cref="ApiKeyAccess"/>, and records the outcome. Both halves are idempotent, so a
/// retry after a failure in between converges. A revoked key is disabled, its usage since the last report is reported
/// to Stripe, and only then does it leave the plan and the ledger record change; when Stripe does not take the usage
/// the call fails with the key disabled, and the retry reports it once through the same claims.
/// </summary>
public sealed class SubscriptionAccess(ISubscriberLedger ledger, ApiKeyAccess access, ReportStripeUsage usage, BillingOptions options, TimeProvider clock)
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
            var key = KeyOf(keyId, enabled: decision.Access == AccessChange.Revoke);
            switch (decision.Access)
            {
                case AccessChange.Grant:
                    await access.GrantAsync(key, planId, cancellationToken);
                    break;
                case AccessChange.Revoke:
                    await RevokeAsync(key, planId, now, cancellationToken);
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

    /// <summary>
    /// Takes the subscriber's access away and reports its usage, without recording anything: for ending a subscription
    /// from our side, before Stripe cancels it with the final invoice the usage should be on.
    /// </summary>
    public async Task WithdrawAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.ApiKeyId is { } keyId)
        {
            await RevokeAsync(KeyOf(keyId, enabled: true), record.UsagePlanId ?? options.StripeUsagePlanId, clock.GetUtcNow(), cancellationToken);
        }
    }

    /// <summary>The key's record-side stand-in: its stored enabled flag is unknown here, so claiming the opposite of the goal makes the call set it.</summary>
    private static ApiKey KeyOf(string keyId, bool enabled) =>
        new(keyId, string.Empty, enabled, CustomerId: null, new Dictionary<string, string>(), Value: null);

    private Task RevokeAsync(ApiKey key, string planId, DateTimeOffset now, CancellationToken cancellationToken) =>
        access.RevokeAsync(key, planId, cancellationToken, ct => usage.FlushAsync(key.Id, now, ct));
}
