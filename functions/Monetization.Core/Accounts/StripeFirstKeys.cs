using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Core.Accounts;

/// <summary>
/// Stripe subscribers' first keys: imported enabled and already in their plan (a subscriber awaits a key only once
/// access has started), then named on the Stripe customer (<c>awsAPIKeyId</c>).
/// </summary>
public sealed class StripeFirstKeys(ApiKeyAccess access, IBilling billing, StripeChannelOptions channel) : IFirstKeyChannel
{
    public Channel Channel => Channel.Stripe;

    public FirstKey KeyOf(Subscriber record) =>
        new(StripeSubscribers.HolderOf(record), record.UsagePlanId ?? channel.StripeUsagePlanId, Granted: true);

    public async Task<string?> AdoptAsync(Subscriber record, CancellationToken cancellationToken)
    {
        var key = KeyOf(record);
        var found = await access.ReadAsync(key.Holder, recordedKeyId: null, includeValue: false, cancellationToken);

        // Imported keys are enabled from the start; one that is not was never the consumer's.
        if (found.Named.FirstOrDefault(k => k.Enabled) is not { } earlier)
        {
            return null;
        }

        await access.GrantAsync(earlier.Id, enabled: true, key.UsagePlanId, cancellationToken);
        return earlier.Id;
    }

    public Task FinishAsync(Subscriber stored, string keyId, FirstKey? imported, CancellationToken cancellationToken) =>
        StripeSubscribers.LinkKeyOnCustomerAsync(billing, stored, keyId, cancellationToken);
}
