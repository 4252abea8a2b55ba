using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Core;
using Monetization.Core.Accounts;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Core.Usage;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Marketplace;

/// <summary>The real Marketplace flows wired to in-memory ledger and API Gateway.</summary>
public sealed class MarketplaceWorld
{
    public const string UsagePlanId = "plan-marketplace";
    public const string ProductCode = "prod-sold-1";
    public const string OtherProductCode = "prod-not-ours";

    /// <param name="trips">When given, counts the flows' sequential round trips to the ledger and API Gateway.</param>
    public MarketplaceWorld(Faults? faults = null, RoundTrips? trips = null)
    {
        Ledger = new InMemorySubscriberLedger(faults);
        Keys = new InMemoryApiKeys(faults);
        Metering = new FakeMarketplaceMetering();
        Options = new MarketplaceOptions { UsagePlanId = UsagePlanId, ProductCodes = [ProductCode] };
        var time = Clock = new Infrastructure.ManualTimeProvider(new DateTimeOffset(2026, 7, 1, 9, 0, 0, TimeSpan.Zero));
        ISubscriberLedger ledger = trips?.Wrap<ISubscriberLedger>(Ledger) ?? Ledger;
        IApiKeys keys = trips?.Wrap<IApiKeys>(Keys) ?? Keys;
        var keyAccess = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        Access = new MarketplaceAccess(ledger, keyAccess, Options, time, NullLogger<MarketplaceAccess>.Instance);
        Identity = new MarketplaceIdentity(ledger, Access, time, NullLogger<MarketplaceIdentity>.Instance);

        // First keys come from the real key minting consumer, run inside the request that asks for one.
        Queue = new InlineKeyMintQueue();
        Queue.Consumer = new MintKeys(
            ledger, keyAccess, [new MarketplaceFirstKeys(keyAccess, Access, Options)], new KeyCeiling(new KeyMintingOptions(), time), time, NullLogger<MintKeys>.Instance);
        var requestKey = new RequestKey(ledger, Queue, time);

        // Nothing is metered in this world: these keys count no usage (the usage tests meter against the emulators).
        var usage = new MeterMarketplaceUsage(
            Keys, new UnusedUsageLedger(), Ledger, keyAccess, Metering, new UsageReportingOptions(), time, NullLogger<MeterMarketplaceUsage>.Instance);
        Apply = new ApplySubscriptionEvent(ledger, Identity, Access, requestKey, usage, Options, time, NullLogger<ApplySubscriptionEvent>.Instance);
        Landing = new MarketplaceLanding(
            Metering, ledger, Identity, Access, requestKey, new KeyReveal(ledger, keyAccess, time), Options, time, NullLogger<MarketplaceLanding>.Instance);
    }

    public InMemorySubscriberLedger Ledger { get; }

    public InMemoryApiKeys Keys { get; }

    public FakeMarketplaceMetering Metering { get; }

    public MarketplaceOptions Options { get; }

    public MarketplaceAccess Access { get; }

    public InlineKeyMintQueue Queue { get; }

    /// <summary>Stands still unless a test moves it (a redelivery that comes later).</summary>
    public Infrastructure.ManualTimeProvider Clock { get; }

    public MarketplaceIdentity Identity { get; }

    public ApplySubscriptionEvent Apply { get; }

    public MarketplaceLanding Landing { get; }

    /// <summary>Registers a token that resolves to <paramref name="customer"/> and returns it.</summary>
    public Secret TokenFor(MarketplaceCustomer customer, string productCode = ProductCode)
    {
        var token = "token-" + customer.Key;
        Metering.With(token, new ResolveCustomerOutcome.Resolved(
            customer.CustomerIdentifier,
            customer.CustomerAwsAccountId ?? "111122223333",
            productCode,
            customer.LicenseArn));
        return new Secret(token);
    }

    public bool HasAccess(MarketplaceCustomer customer) =>
        Keys.KeysNamed(customer.ApiKeyName).Any(k => Keys.HasAccess(UsagePlanId, k.Id));

    public static SubscriptionEvent Event(
        SubscriptionAction action, MarketplaceCustomer customer, int minute, string? id = null, string productCode = ProductCode) =>
        new(action, customer, productCode, new DateTimeOffset(2026, 6, 1, 12, minute, 0, TimeSpan.Zero),
            id ?? $"{action}-{customer.Key}-{minute}", NotificationSource.Sns);
}
