using Monetization.Core.Accounts;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Billing;

/// <summary>
/// Makes a Stripe subscriber's key follow the subscription's current status: decides with <see cref="BillingRules"/>,
/// grants or disables through <see cref="ApiKeyAccess"/>, and records the outcome. Both halves are idempotent, so a
/// retry after a failure in between converges. Ending access is the first of three steps: the key is disabled here and
/// the record says since when it settles; the usage reporter bills what the key used meanwhile, like any other usage,
/// and takes the key out of the plan once nothing of it is left to bill.
/// <para>
/// A subscriber has no key until access first starts: the grant asks the key minting queue for it
/// (<see cref="RequestKey"/>), whose consumer imports it into the plan and records it, and the account page shows its
/// value once.
/// </para>
/// </summary>
public sealed class SubscriptionAccess(
    ISubscriberLedger ledger, ApiKeyAccess access, RequestKey keys, IBilling billing, BillingOptions options, StripeChannelOptions channel, TimeProvider clock)
{
    public async Task<AccessChange> FollowAsync(Subscriber record, BillingSubscription subscription, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(subscription);
        var now = clock.GetUtcNow();
        BillingDecision Decide(Subscriber current)
        {
            var decision = BillingRules.Decide(current, subscription, now, options.PastDueGrace);

            // A paid subscription ends the free plan: its key moves to the paid plan as access to it starts.
            if (decision is { Access: AccessChange.Grant } && (decision.Next ?? current) is { FreePlan: true } free)
            {
                decision = decision with { Next = free with { FreePlan = false, UsagePlanId = channel.StripeUsagePlanId, IdleCheckAt = null, IdleNoticeAt = null, UpdatedAt = now } };
            }

            // The billing period a spend cap counts, kept as Stripe last said (every renewal is an event).
            return subscription is { PeriodStart: { } start, PeriodEnd: { } end } && (decision.Next ?? current) is { } next
                && (next.PeriodStart != start || next.PeriodEnd != end) && string.Equals(next.StripeSubscriptionId, subscription.Id, StringComparison.Ordinal)
                ? decision with { Next = next with { PeriodStart = start, PeriodEnd = end, UpdatedAt = now } }
                : decision;
        }

        var decision = Decide(record);
        if (decision.Access == AccessChange.Grant && (!record.Subscribed || record.FreePlan) && record is { ApiKeyId: { } linked, StripeCustomerId: not null })
        {
            // A returning subscriber's key, or a free one becoming paid: as paid access starts, the customer names it
            // and keys a crash left go; repeated until access has started, so a lost link is redone.
            await Task.WhenAll(
                StripeSubscribers.LinkKeyOnCustomerAsync(billing, record, linked, cancellationToken),
                access.DeleteStraysAsync(StripeSubscribers.HolderOf(record), record, cancellationToken));
        }

        if (record.ApiKeyId is { } keyId)
        {
            switch (decision.Access)
            {
                case AccessChange.Grant when record is { FreePlan: true, UsagePlanId: { } freePlan } && freePlan != channel.StripeUsagePlanId:
                    // A key cannot be in two plans of one stage: it leaves the free plan, then joins the paid one. What
                    // it served before is the free plan's (never billed); from the paid plan on, every unit is billed,
                    // and the paid plan's quota counts from zero. A failure between the two is finished by the retry.
                    await access.LeavePlanAsync(keyId, freePlan, cancellationToken);
                    await access.GrantAsync(keyId, enabled: null, channel.StripeUsagePlanId, cancellationToken);
                    break;
                case AccessChange.Grant when record.CapStopped(now) && (decision.Next ?? record).CapStopped(now):
                    // The spend cap holds the key stopped (in its plan) until the period ends or the cap is raised.
                    break;
                case AccessChange.Grant:
                    await access.GrantAsync(keyId, enabled: null, record.UsagePlanId ?? channel.StripeUsagePlanId, cancellationToken);
                    break;
                case AccessChange.Revoke:
                    await Task.WhenAll(access.DisableAsync(keyId, enabled: null, cancellationToken), access.DisableRetiringAsync(record, cancellationToken));
                    break;
            }
        }

        if (decision.Next is not null)
        {
            var update = await ledger.UpdateAsync(
                record.Id,
                current => current is null ? null : Decide(current).Next,
                new KnownRecord(record),
                cancellationToken);
            record = update.Stored ?? record;
        }

        if (decision.Access == AccessChange.Grant)
        {
            // A first key is made off this request, by the key minting queue's one paced consumer; recorded as
            // subscribed first, so the consumer finds the subscriber waiting for it.
            await keys.EnsureRequestedAsync(record, cancellationToken);
        }

        return decision.Access;
    }

    /// <summary>
    /// A subscription of the subscriber's customer becomes theirs when they have none recorded, or when their last one
    /// ended (subscribing again: the end asked of the old one is done with). A subscriber whose subscription still runs
    /// keeps it. Recorded before access follows it, so a retry finds the subscription a lost attempt created.
    /// </summary>
    /// <returns>The record as stored, naming <paramref name="subscriptionId"/> when it was adopted.</returns>
    public async Task<Subscriber> AdoptAsync(Subscriber record, string subscriptionId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentException.ThrowIfNullOrEmpty(subscriptionId);
        var now = clock.GetUtcNow();
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current switch
            {
                { StripeSubscriptionId: null } => current with { StripeSubscriptionId = subscriptionId, UpdatedAt = now },
                { Status: SubscriberStatus.Cancelled, Subscribed: false } when !string.Equals(current.StripeSubscriptionId, subscriptionId, StringComparison.Ordinal)
                    => current with { StripeSubscriptionId = subscriptionId, EndRequestedAt = null, PastDueSince = null, UpdatedAt = now },
                _ => null,
            },
            new KnownRecord(record),
            cancellationToken);
        return update.Stored ?? record;
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
            await Task.WhenAll(access.DisableAsync(keyId, enabled: null, cancellationToken), access.DisableRetiringAsync(record, cancellationToken));
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
