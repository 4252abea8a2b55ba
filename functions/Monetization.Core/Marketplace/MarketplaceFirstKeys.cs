using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <summary>
/// Marketplace buyers' first keys: imported disabled and in no plan, because API Gateway's key file has no
/// <c>customerId</c> column and a CustomerIdentifier buyer's key must carry it before it serves (API Gateway meters
/// it under that id); once recorded, <see cref="MarketplaceAccess"/> gives it the id and, when subscribed, access.
/// </summary>
public sealed class MarketplaceFirstKeys(ApiKeyAccess keys, MarketplaceAccess access, MarketplaceOptions options) : IFirstKeyChannel
{
    public Channel Channel => Channel.Marketplace;

    public FirstKey KeyOf(Subscriber record) => new(MarketplaceCustomer.HolderOf(record), options.UsagePlanId, Granted: false);

    public async Task<string?> AdoptAsync(Subscriber record, CancellationToken cancellationToken)
    {
        var holder = MarketplaceCustomer.HolderOf(record);
        var found = await keys.ReadAsync(holder, recordedKeyId: null, includeValue: false, cancellationToken);
        var free = found with { Named = [.. found.Named.Where(k => !record.HoldsKey(k.Id))] };
        return (await keys.FindAdoptableAsync(holder, free, includeValue: false, cancellationToken))?.Id;
    }

    public Task FinishAsync(Subscriber stored, string keyId, CancellationToken cancellationToken) =>
        access.ConvergeImportedAsync(stored, keyId, cancellationToken);
}
