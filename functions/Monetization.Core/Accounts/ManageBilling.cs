using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Core.Accounts;

/// <summary>
/// Sends a signed-in subscriber to Stripe's Billing Portal, where they replace their card, see their invoices and
/// cancel at the period's end. What they change there reaches the ledger through the webhooks like any other change.
/// </summary>
public sealed class ManageBilling(ISubscriberLedger ledger, IBilling billing)
{
    /// <returns>The portal session's URL, or null for a subscriber without a Stripe customer (nothing to manage yet).</returns>
    public async Task<Uri?> OpenAsync(string subscriberId, Uri returnUrl, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        ArgumentNullException.ThrowIfNull(returnUrl);
        return await ledger.GetAsync(subscriberId, cancellationToken) is { Channel: Channel.Stripe, StripeCustomerId: { } customerId, StripeSubscriptionId: not null }
            ? await billing.OpenBillingPortalAsync(customerId, returnUrl, cancellationToken)
            : null;
    }
}
