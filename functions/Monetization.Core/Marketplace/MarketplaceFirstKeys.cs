using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <summary>
/// Marketplace buyers' first keys. A buyer known by account + license whose subscription Marketplace has confirmed gets
/// a key imported enabled in the plan, as a Stripe subscriber does. Any other key is imported disabled and in no plan:
/// API Gateway's key file has no <c>customerId</c> column and a CustomerIdentifier buyer's key must carry it before it
/// serves (API Gateway meters it under that id), and an unconfirmed buyer gets access only once Marketplace confirms.
/// Once recorded, <see cref="MarketplaceAccess"/> makes the key match the record from what the import made.
/// </summary>
public sealed class MarketplaceFirstKeys(ApiKeyAccess keys, MarketplaceAccess access, MarketplaceOptions options) : IFirstKeyChannel
{
    public Channel Channel => Channel.Marketplace;

    public FirstKey KeyOf(Subscriber record)
    {
        var holder = MarketplaceCustomer.HolderOf(record);
        return new FirstKey(holder, options.UsagePlanId, Granted: record.Subscribed && holder.CustomerId is null);
    }

    public async Task<string?> AdoptAsync(Subscriber record, CancellationToken cancellationToken)
    {
        var holder = MarketplaceCustomer.HolderOf(record);
        var found = await keys.ReadAsync(holder, recordedKeyId: null, includeValue: false, cancellationToken);
        var free = found with { Named = [.. found.Named.Where(k => !record.HoldsKey(k.Id))] };
        return (await keys.FindAdoptableAsync(holder, free, includeValue: false, cancellationToken))?.Id;
    }

    public Task FinishAsync(Subscriber stored, string keyId, FirstKey? imported, CancellationToken cancellationToken) =>
        imported is null
            ? access.ConvergeAsync(stored, keys: null, cancellationToken)
            : access.ConvergeImportedAsync(stored, keyId, imported.Granted, cancellationToken);
}
