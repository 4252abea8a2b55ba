using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Accounts;

public enum FreePlanOutcome
{
    /// <summary>The subscriber is on the free plan; the key is made (or being made) in the free usage plan.</summary>
    Started,

    /// <summary>The subscriber has access already, free or paid: nothing changes.</summary>
    AlreadySubscribed,

    /// <summary>The subscriber has had a paid subscription: the free plan is for new accounts only.</summary>
    PaidBefore,

    /// <summary>
    /// This API is not offered free (<see cref="StripeChannelOptions.FreeUsagePlanId"/> is empty), or not to this
    /// subscriber (a Marketplace buyer, billed by Marketplace).
    /// </summary>
    NotOffered,
}

/// <summary>
/// A signed-in Stripe subscriber, whose address is verified, starts the free plan: access at once, with no Stripe
/// customer, no card and nothing billed, the key asked of the key minting queue into the free usage plan (whose
/// quota is the free allowance). One account per verified address, so one free plan per address. Once is enough: a
/// repeat finds the plan started and at most asks again for a key the queue lost. A paid subscription started later
/// ends it (<see cref="Billing.SubscriptionAccess"/> moves the key).
/// </summary>
public sealed partial class StartFreePlan(
    ISubscriberLedger ledger, RequestKey keys, StripeChannelOptions channel, TimeProvider clock, ILogger<StartFreePlan> logger)
{
    public async Task<FreePlanOutcome> StartAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        if (!channel.OffersFreePlan)
        {
            return FreePlanOutcome.NotOffered;
        }

        if (await ledger.GetAsync(subscriberId, cancellationToken) is not { Channel: Channel.Stripe } record)
        {
            return FreePlanOutcome.NotOffered;
        }

        var now = clock.GetUtcNow();
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is { MayStartFreePlan: true }
                ? current with
                {
                    Status = SubscriberStatus.Active,
                    Subscribed = true,
                    FreePlan = true,
                    Registered = true,
                    UsagePlanId = channel.FreeUsagePlanId,
                    FreeSince = now,
                    FreeUsedMonth = null,
                    IdleNoticeAt = null,

                    // The usage report first looks soon, then when the key would have gone unused long enough.
                    IdleCheckAt = now,
                    UpdatedAt = now,
                }
                : null,
            new KnownRecord(record),
            cancellationToken);
        var stored = update.Stored ?? record;
        if (!stored.FreePlan)
        {
            return stored.Subscribed ? FreePlanOutcome.AlreadySubscribed : FreePlanOutcome.PaidBefore;
        }

        if (update.Written)
        {
            LogStarted(logger, stored.Id);
        }

        await keys.EnsureRequestedAsync(stored, cancellationToken);
        return FreePlanOutcome.Started;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscriber {SubscriberId} started the free plan")]
    private static partial void LogStarted(ILogger logger, string subscriberId);
}
