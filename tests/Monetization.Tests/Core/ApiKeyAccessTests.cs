using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Tests.Marketplace;

namespace Monetization.Tests.Core;

public sealed class ApiKeyAccessTests
{
    private const string Plan = "plan-1";
    private static readonly KeyHolder Holder = new("stripe#abc", Channel.Stripe, "stripe-abc", CustomerId: null);

    [Fact]
    public async Task ANewKeyIsDisabledOutsideEveryPlanAndCarriesTheOneTagSet()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);

        var key = await access.FindOrCreateAsync(Holder, includeValue: true, TestContext.Current.CancellationToken);

        Assert.False(key.Enabled);
        Assert.False(keys.InPlan(Plan, key.Id));
        Assert.Equal("stripe", key.Tags[ApiKeyAccess.ChannelTag]);
        Assert.NotNull(key.Value);
    }

    [Fact]
    public async Task FindingByNameIgnoresPrefixMatchesAndPrefersTheLowestId()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        await access.CreateAsync(Holder with { KeyName = "stripe-abcdef" }, TestContext.Current.CancellationToken);
        var first = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.CreateAsync(Holder, TestContext.Current.CancellationToken);

        var found = await access.FindOrCreateAsync(Holder, includeValue: false, TestContext.Current.CancellationToken);

        Assert.Equal(first.Id, found.Id);
        Assert.Equal(3, keys.Creates);
    }

    [Fact]
    public async Task GrantGivesAccessAndRepeatingItChangesNothing()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var key = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);

        Assert.True(await access.GrantAsync(key.Id, key.Enabled, Plan, TestContext.Current.CancellationToken));
        var granted = (await keys.GetAsync(key.Id, includeValue: false, TestContext.Current.CancellationToken))!;
        Assert.False(await access.GrantAsync(granted.Id, granted.Enabled, Plan, TestContext.Current.CancellationToken));

        Assert.True(keys.HasAccess(Plan, key.Id));
    }

    [Fact]
    public async Task EndingAccessDisablesTheKeyFirstAndItLeavesThePlanOnlyAsTheLastStep()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var key = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.GrantAsync(key.Id, key.Enabled, Plan, TestContext.Current.CancellationToken);

        await access.DisableAsync(key.Id, enabled: null, TestContext.Current.CancellationToken);
        Assert.False(keys.HasAccess(Plan, key.Id));
        Assert.True(keys.InPlan(Plan, key.Id));

        Assert.True(await access.LeavePlanAsync(key.Id, Plan, TestContext.Current.CancellationToken));
        Assert.False(await access.LeavePlanAsync(key.Id, Plan, TestContext.Current.CancellationToken));
        Assert.False(keys.InPlan(Plan, key.Id));
        Assert.False((await keys.GetAsync(key.Id, includeValue: false, TestContext.Current.CancellationToken))!.Enabled);
    }

    [Fact]
    public async Task DisablingAKeyKnownDisabledCallsNothing()
    {
        var faults = new ScriptedFaults().CrashBefore("keys.update");
        var keys = new InMemoryApiKeys(faults);
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var key = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);

        await access.DisableAsync(key.Id, enabled: false, TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<InjectedFaultException>(() => access.DisableAsync(key.Id, enabled: null, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task AGrantThatFailsHalfWayLeavesNoAccessAndARetryConverges()
    {
        var faults = new ScriptedFaults().CrashBefore("keys.addToPlan");
        var keys = new InMemoryApiKeys(faults);
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var key = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);

        await Assert.ThrowsAsync<InjectedFaultException>(() => access.GrantAsync(key.Id, key.Enabled, Plan, TestContext.Current.CancellationToken));
        Assert.False(keys.HasAccess(Plan, key.Id));

        var current = (await keys.GetAsync(key.Id, includeValue: false, TestContext.Current.CancellationToken))!;
        await access.GrantAsync(current.Id, current.Enabled, Plan, TestContext.Current.CancellationToken);
        Assert.True(keys.HasAccess(Plan, key.Id));
    }

    [Fact]
    public async Task DeletingStraysKeepsOnlyTheKeysTheRecordHoldsOfTheHoldersName()
    {
        var keys = new InMemoryApiKeys(new ScriptedFaults());
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var kept = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        var retiring = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        var record = new Subscriber
        {
            Id = Holder.SubscriberId,
            Channel = Holder.Channel,
            Status = SubscriberStatus.Active,
            ApiKeyId = kept.Id,
            RetiredKeys = [new RetiredKey(retiring.Id, DateTimeOffset.UnixEpoch, DisabledAt: null)],
            CreatedAt = DateTimeOffset.UnixEpoch,
            UpdatedAt = DateTimeOffset.UnixEpoch,
        };

        await access.DeleteStraysAsync(Holder, record, TestContext.Current.CancellationToken);

        Assert.Equal(
            new[] { kept.Id, retiring.Id }.Order(StringComparer.Ordinal),
            (await keys.FindByNameAsync(Holder.KeyName, includeValue: false, TestContext.Current.CancellationToken)).Select(k => k.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MatchingAKeyDeletesTheStraysWithTheHoldersNameAndKeepsTheKey()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var kept = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        var other = await access.CreateAsync(Holder with { KeyName = "stripe-abcdef" }, TestContext.Current.CancellationToken);
        var found = await access.ReadAsync(Holder, kept.Id, includeValue: false, TestContext.Current.CancellationToken);

        await access.MatchAsync(Holder, found.Recorded!, access: true, Plan, found.Named, inPlan: false, TestContext.Current.CancellationToken);

        Assert.Equal(2, found.Named.Count);
        Assert.Equal([kept.Id], keys.KeysNamed(Holder.KeyName).Select(k => k.Id));
        Assert.True(keys.HasAccess(Plan, kept.Id));
        Assert.Single(keys.KeysNamed(other.Name));
    }

    [Fact]
    public async Task MatchingWithoutAccessDisablesTheKeyAndLeavesItInItsPlan()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var key = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.GrantAsync(key.Id, key.Enabled, Plan, TestContext.Current.CancellationToken);
        var granted = (await keys.GetAsync(key.Id, includeValue: false, TestContext.Current.CancellationToken))!;

        await access.MatchAsync(Holder, granted, access: false, Plan, [], inPlan: false, TestContext.Current.CancellationToken);

        Assert.False(keys.HasAccess(Plan, key.Id));
        Assert.True(keys.InPlan(Plan, key.Id));
    }

    [Fact]
    public async Task DeletingAllOfAHoldersKeysLeavesKeysWithLongerNames()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var granted = await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        await access.GrantAsync(granted.Id, granted.Enabled, Plan, TestContext.Current.CancellationToken);
        await access.CreateAsync(Holder, TestContext.Current.CancellationToken);
        var other = await access.CreateAsync(Holder with { KeyName = "stripe-abcdef" }, TestContext.Current.CancellationToken);

        await access.DeleteAllAsync(Holder, TestContext.Current.CancellationToken);

        Assert.Empty(keys.KeysNamed(Holder.KeyName));
        Assert.False(keys.HasAccess(Plan, granted.Id));
        Assert.Single(keys.KeysNamed(other.Name));
    }

    [Fact]
    public async Task AHolderWithACustomerIdAdoptsTheKeyLinkedToItWhenNoneHasItsName()
    {
        var keys = new InMemoryApiKeys();
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var linked = await keys.CreateAsync(
            new ApiKeySpec("made-by-hand", "d", Enabled: false, "CID-1", new Dictionary<string, string>()), TestContext.Current.CancellationToken);
        var holder = new KeyHolder("mp#cid:CID-1", Channel.Marketplace, "marketplace-cid-CID-1", "CID-1");

        var found = await access.FindOrCreateAsync(holder, includeValue: false, TestContext.Current.CancellationToken);

        Assert.Equal(linked.Id, found.Id);
        Assert.Equal(1, keys.Creates);
    }

    [Fact]
    public async Task MatchingSetsTheCustomerIdAndTheEnabledFlagInOneUpdateOnlyWhenTheyDiffer()
    {
        var faults = new ScriptedFaults();
        var keys = new InMemoryApiKeys(faults);
        var access = new ApiKeyAccess(keys, NullLogger<ApiKeyAccess>.Instance);
        var holder = new KeyHolder("mp#cid:CID-1", Channel.Marketplace, "marketplace-cid-CID-1", "CID-1");
        var key = await access.CreateAsync(holder with { CustomerId = null }, TestContext.Current.CancellationToken);

        await access.MatchAsync(holder, key, access: true, Plan, [], inPlan: false, TestContext.Current.CancellationToken);
        var matched = (await keys.GetAsync(key.Id, includeValue: false, TestContext.Current.CancellationToken))!;
        Assert.Equal(("CID-1", true), (matched.CustomerId, matched.Enabled));
        Assert.Equal(1, keys.Updates);

        faults.CrashBefore("keys.update");
        await access.MatchAsync(holder, matched, access: true, Plan, [], inPlan: false, TestContext.Current.CancellationToken);
        await Assert.ThrowsAsync<InjectedFaultException>(() => access.MatchAsync(holder, key, access: true, Plan, [], inPlan: false, TestContext.Current.CancellationToken));
        Assert.True(keys.HasAccess(Plan, key.Id));
    }
}
