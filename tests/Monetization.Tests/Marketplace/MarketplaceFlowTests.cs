using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Core;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Core.Marketplace.Notifications;
using static Monetization.Tests.Marketplace.MarketplaceWorld;

namespace Monetization.Tests.Marketplace;

public sealed class MarketplaceFlowTests
{
    private static readonly MarketplaceCustomer Legacy = MarketplaceCustomer.FromCustomerIdentifier("CID-A");
    private static readonly MarketplaceCustomer NewStyle = MarketplaceCustomer.FromLicense(
        "845735284135", "arn:aws:license-manager::845735284135:license:l-0123456789abcdef0123456789abcdef");

    /// <summary>A legacy buyer as ResolveCustomer names them: CustomerIdentifier, account and license.</summary>
    private static readonly MarketplaceCustomer Linked = MarketplaceCustomer.FromCustomerIdentifier("CID-L")
        .Link(MarketplaceCustomer.FromLicense("999988887777", "arn:aws:license-manager::999988887777:license:l-feedfacefeedfacefeedfacefeedface"));

    /// <summary>The same buyer as EventBridge's license events name them.</summary>
    private static readonly MarketplaceCustomer LinkedByLicense =
        MarketplaceCustomer.FromLicense("999988887777", "aws:license-manager:us-east-1:999988887777:l-feedfacefeedfacefeedfacefeedface");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task LicenseEventsAfterTheLandingReachTheKeyTheBuyerHolds()
    {
        var world = new MarketplaceWorld();
        var landed = Assert.IsType<LandingOutcome.Pending>(await world.Landing.ExecuteAsync(world.TokenFor(Linked), Ct));

        var granted = await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, LinkedByLicense, 10), Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Applied, true), granted);
        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal(key.Value, landed.ApiKeyOnce);
        Assert.True(world.Keys.HasAccess(UsagePlanId, key.Id));

        var revoked = await world.Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribeSuccess, LinkedByLicense, 20), Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Applied, false), revoked);
        Assert.Equal(key.Id, Assert.Single(world.Keys.Keys).Id);
        Assert.False(world.Keys.HasAccess(UsagePlanId, key.Id));
        Assert.Null(await world.Ledger.GetAsync(LinkedByLicense.SubscriberId, Ct));
    }

    [Fact]
    public async Task LicenseEventBeforeTheLandingIsFoldedIntoTheBuyersOneRecordAndKey()
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, LinkedByLicense, 10), Ct);

        var landing = Assert.IsType<LandingOutcome.Granted>(await world.Landing.ExecuteAsync(world.TokenFor(Linked), Ct));

        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal(Linked.ApiKeyName, key.Name);
        Assert.Equal("CID-L", key.CustomerId);
        Assert.Equal(key.Value, landing.ApiKeyOnce);
        Assert.True(world.Keys.HasAccess(UsagePlanId, key.Id));
        var buyer = await world.Ledger.GetAsync(Linked.SubscriberId, Ct);
        Assert.True(buyer!.Registered && buyer.Subscribed);
        Assert.Equal("999988887777", buyer.CustomerAwsAccountId);
        var folded = await world.Ledger.GetAsync(LinkedByLicense.SubscriberId, Ct);
        Assert.Equal(Linked.SubscriberId, folded!.MergedInto);
        Assert.Equal(SubscriberStatus.Merged, folded.Status);
    }

    [Fact]
    public async Task AStaleLicenseEventFoldedAtTheLandingDoesNotReGrant()
    {
        var world = new MarketplaceWorld();
        var licensed = Event(SubscriptionAction.SubscribeSuccess, LinkedByLicense, 10);
        await world.Apply.ExecuteAsync(licensed, Ct);
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribeSuccess, Linked, 20), Ct);

        Assert.Equal(new LandingOutcome.Ended(Linked.SubscriberId), await world.Landing.ExecuteAsync(world.TokenFor(Linked), Ct));
        var redelivered = await world.Apply.ExecuteAsync(licensed, Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Stale, false), redelivered);

        // The license name's key went with the fold; the buyer's record never awaited one, as it had ended.
        Assert.DoesNotContain(world.Keys.Keys, k => world.Keys.HasAccess(UsagePlanId, k.Id));
        Assert.False(world.HasAccess(Linked));
    }

    [Fact]
    public async Task ANewerLicenseRevocationFoldedAtTheLandingBeatsAnOlderSnsGrant()
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Linked, 10), Ct);
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, LinkedByLicense, 5), Ct);
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribeSuccess, LinkedByLicense, 20), Ct);
        Assert.Equal(2, world.Keys.Keys.Count);

        var landing = await world.Landing.ExecuteAsync(world.TokenFor(Linked), Ct);

        Assert.IsType<LandingOutcome.Ended>(landing);
        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal(Linked.ApiKeyName, key.Name);
        Assert.False(world.Keys.HasAccess(UsagePlanId, key.Id));
        var buyer = await world.Ledger.GetAsync(Linked.SubscriberId, Ct);
        Assert.Equal(SubscriberStatus.Cancelled, buyer!.Status);
    }

    [Theory]
    [InlineData(SubscriptionAction.UnsubscribeSuccess)]
    [InlineData(SubscriptionAction.SubscribeFail)]
    public async Task LandingAfterTheSubscriptionEndedSaysItEndedAndShowsNoKey(SubscriptionAction ending)
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);
        await world.Apply.ExecuteAsync(Event(ending, Legacy, 20), Ct);

        var landing = await world.Landing.ExecuteAsync(world.TokenFor(Legacy), Ct);

        Assert.Equal(new LandingOutcome.Ended(Legacy.SubscriberId), landing);
        Assert.False(world.HasAccess(Legacy));
        Assert.True((await world.Ledger.GetAsync(Legacy.SubscriberId, Ct))!.Registered);
    }

    [Fact]
    public async Task IdentifiersResolveCustomerReturnsArePaddedAreTrimmed()
    {
        var world = new MarketplaceWorld();
        world.Metering.With("padded", new ResolveCustomerOutcome.Resolved(
            " CID-L\t", " 999988887777 ", " " + ProductCode + " ", " arn:aws:license-manager::999988887777:license:l-feedfacefeedfacefeedfacefeedface "));

        var landing = await world.Landing.ExecuteAsync(new Secret("padded"), Ct);

        Assert.Equal(Linked.SubscriberId, Assert.IsType<LandingOutcome.Pending>(landing).SubscriberId);
        var buyer = await world.Ledger.GetAsync(Linked.SubscriberId, Ct);
        Assert.Equal("CID-L", buyer!.MarketplaceCustomerIdentifier);
        Assert.Equal("999988887777", buyer.CustomerAwsAccountId);
        Assert.Equal(ProductCode, buyer.ProductCode);
        Assert.Equal("arn:aws:license-manager::999988887777:license:l-feedfacefeedfacefeedfacefeedface", buyer.LicenseArn);
        Assert.Equal("CID-L", Assert.Single(world.Keys.Keys).CustomerId);
        Assert.Equal(Linked.SubscriberId, await world.Ledger.FindAliasAsync(LinkedByLicense.SubscriberId, Ct));
    }

    [Fact]
    public async Task SubscribeSuccessCreatesOneLinkedKeyWithAccess()
    {
        var world = new MarketplaceWorld();

        var result = await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Applied, true), result);
        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal(Legacy.ApiKeyName, key.Name);
        Assert.Equal("CID-A", key.CustomerId);
        Assert.True(world.Keys.HasAccess(UsagePlanId, key.Id));
        var subscriber = await world.Ledger.GetAsync(Legacy.SubscriberId, Ct);
        Assert.Equal(key.Id, subscriber!.ApiKeyId);
        Assert.Equal(UsagePlanId, subscriber.UsagePlanId);
    }

    [Fact]
    public async Task UnsubscribeSuccessDisablesTheKeyWhichSettlesInThePlanUntilItsUsageIsMetered()
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);

        var result = await world.Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribeSuccess, Legacy, 20), Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Applied, false), result);
        var key = Assert.Single(world.Keys.Keys);
        Assert.False(key.Enabled);
        Assert.True(world.Keys.InPlan(UsagePlanId, key.Id));
        Assert.NotNull(Assert.Single(world.Ledger.All, r => r.ApiKeyId == key.Id).SettlingSince);
    }

    [Fact]
    public async Task EventForAProductWeDoNotSellTouchesNothing()
    {
        var world = new MarketplaceWorld();

        var result = await world.Apply.ExecuteAsync(
            Event(SubscriptionAction.SubscribeSuccess, Legacy, 10, productCode: OtherProductCode), Ct);

        Assert.Equal(SubscriptionEventStatus.Ignored, result.Status);
        Assert.Empty(world.Keys.Keys);
        Assert.Empty(world.Ledger.All);
    }

    [Fact]
    public async Task StaleRedeliveryRepairsDriftWithoutReGranting()
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribeSuccess, Legacy, 20), Ct);
        var key = Assert.Single(world.Keys.Keys);
        world.Keys.Tamper(UsagePlanId, key.Id, enabled: true, inPlan: true);

        var result = await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Stale, false), result);
        Assert.False(world.HasAccess(Legacy));
    }

    [Fact]
    public async Task CrashAfterTheLedgerWriteConvergesOnRedelivery()
    {
        var faults = new ScriptedFaults().CrashBefore("keys.addToPlan");
        var world = new MarketplaceWorld(faults);
        var subscribe = Event(SubscriptionAction.SubscribeSuccess, Legacy, 10);

        await Assert.ThrowsAsync<InjectedFaultException>(() => world.Apply.ExecuteAsync(subscribe, Ct));
        Assert.True((await world.Ledger.GetAsync(Legacy.SubscriberId, Ct))!.Subscribed);
        Assert.False(world.HasAccess(Legacy));

        var result = await world.Apply.ExecuteAsync(subscribe, Ct);

        Assert.Equal(new SubscriptionEventResult(SubscriptionEventStatus.Duplicate, true), result);
        Assert.True(world.HasAccess(Legacy));
        Assert.Single(world.Keys.Keys);
    }

    [Fact]
    public async Task AConfirmedLicenseBuyersKeyIsImportedWorkingAndTakesNoCallAfterTheImport()
    {
        var trips = new RoundTrips();
        var world = new MarketplaceWorld(trips: trips);
        world.Queue.Hold = true;

        // The event looks for a key to adopt and, finding none, asks the queue for one.
        var result = await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, NewStyle, 10), Ct);
        Assert.False(result.HasAccess);
        Assert.Equal(["IApiKeys.FindByNameAsync"], ApiGatewayCalls(trips));
        trips.Reset();

        // The consumer imports it enabled in the plan and changes nothing after.
        await world.Queue.ReleaseAsync(Ct);

        var key = Assert.Single(world.Keys.Keys);
        Assert.True(world.HasAccess(NewStyle));
        Assert.Equal(key.Id, (await world.Ledger.GetAsync(NewStyle.SubscriberId, Ct))!.ApiKeyId);
        Assert.Equal(["IApiKeys.ImportAsync"], ApiGatewayCalls(trips));
    }

    [Fact]
    public async Task AConfirmedLegacyBuyersImportedKeyGetsItsCustomerIdAndAccessInOneUpdateAndOnePlanMembership()
    {
        var trips = new RoundTrips();
        var world = new MarketplaceWorld(trips: trips);
        world.Queue.Hold = true;

        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);
        Assert.Equal(["IApiKeys.FindByNameAsync", "IApiKeys.FindByCustomerIdAsync"], ApiGatewayCalls(trips));
        trips.Reset();

        await world.Queue.ReleaseAsync(Ct);

        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal("CID-A", key.CustomerId);
        Assert.True(world.HasAccess(Legacy));
        Assert.Equal(["IApiKeys.ImportAsync", "IApiKeys.UpdateAsync", "IApiKeys.AddToUsagePlanAsync"], ApiGatewayCalls(trips));
    }

    /// <summary>The API Gateway calls made, in order, but the key count the consumer's ceiling reads now and then.</summary>
    private static List<string> ApiGatewayCalls(RoundTrips trips) =>
        [.. trips.Calls.Select(c => c.Call).Where(c => c.StartsWith("IApiKeys.", StringComparison.Ordinal) && c != "IApiKeys.CountAsync")];

    [Fact]
    public async Task LostImportAnswerIsRecoveredByNameWithoutASecondKey()
    {
        var faults = new ScriptedFaults().CrashAfter("keys.import");
        var world = new MarketplaceWorld(faults);
        var subscribe = Event(SubscriptionAction.SubscribeSuccess, Legacy, 10);

        await Assert.ThrowsAsync<InjectedFaultException>(() => world.Apply.ExecuteAsync(subscribe, Ct));
        await world.Apply.ExecuteAsync(subscribe, Ct);

        Assert.Equal(1, world.Keys.Creates);
        Assert.True(world.HasAccess(Legacy));
    }

    [Fact]
    public async Task KeyNamedAfterALongerCustomerIdentifierIsNotMistakenForThisBuyers()
    {
        var world = new MarketplaceWorld();
        var longer = MarketplaceCustomer.FromCustomerIdentifier("CID-AB");
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, longer, 10), Ct);

        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeFail, Legacy, 11), Ct);

        Assert.Equal(2, world.Keys.Keys.Count);
        Assert.True(world.HasAccess(longer));
        Assert.False(world.HasAccess(Legacy));
    }

    [Fact]
    public async Task StrayKeyLeftByACrashedCreatorIsDeleted()
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);
        var stray = await world.Keys.CreateAsync(
            new Monetization.Core.ApiKeys.ApiKeySpec(Legacy.ApiKeyName, "stray", false, "CID-A", new Dictionary<string, string>()), Ct);

        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);

        Assert.DoesNotContain(world.Keys.Keys, k => k.Id == stray.Id);
        Assert.Single(world.Keys.Keys);
    }

    [Fact]
    public async Task LandingBeforeSubscribeSuccessIsPendingAndTheEventThenGrantsTheSameKey()
    {
        var world = new MarketplaceWorld();

        var landing = await world.Landing.ExecuteAsync(world.TokenFor(Legacy), Ct);

        var pending = Assert.IsType<LandingOutcome.Pending>(landing);
        Assert.Equal(Legacy.SubscriberId, pending.SubscriberId);
        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal(key.Value, pending.ApiKeyOnce);
        Assert.False(key.Enabled);
        Assert.False(world.Keys.InPlan(UsagePlanId, key.Id));
        var subscriber = await world.Ledger.GetAsync(Legacy.SubscriberId, Ct);
        Assert.True(subscriber!.Registered);
        Assert.False(subscriber.Subscribed);
        Assert.Equal("111122223333", subscriber.CustomerAwsAccountId);

        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, Legacy, 10), Ct);

        Assert.Equal(key.Id, Assert.Single(world.Keys.Keys).Id);
        Assert.True(world.HasAccess(Legacy));
    }

    [Fact]
    public async Task GrantingAKnownBuyerTakesThreeSequentialRoundTripsAndTheLandingReadsTheKeyOnce()
    {
        var trips = new RoundTrips();
        var world = new MarketplaceWorld(trips: trips);
        await world.Landing.ExecuteAsync(world.TokenFor(Legacy), Ct);
        var recorded = (await world.Ledger.GetAsync(Legacy.SubscriberId, Ct))! with { Subscribed = true };
        world.Ledger.Seed(recorded);
        trips.Reset();

        var converged = await RoundTrips.RunAsync(() => world.Access.ConvergeAsync(recorded, keys: null, Ct));

        Assert.True(converged.HasAccess);
        Assert.True(world.HasAccess(Legacy));
        Assert.Equal(3, trips.Depth);
        Assert.Equal(
            [
                ("IApiKeys.GetAsync", 1), ("IApiKeys.FindByNameAsync", 1),
                ("IApiKeys.UpdateAsync", 2), ("IApiKeys.AddToUsagePlanAsync", 2),
                ("ISubscriberLedger.GetAsync", 3),
            ],
            trips.Calls);

        trips.Reset();
        var landing = Assert.IsType<LandingOutcome.Granted>(await RoundTrips.RunAsync(() => world.Landing.ExecuteAsync(world.TokenFor(Legacy), Ct)));

        // The first landing showed the key; this one names it and reads the key once, without its value.
        Assert.Null(landing.ApiKeyOnce);
        Assert.Equal(Assert.Single(world.Keys.Keys).Value!.Reveal()[^4..], landing.ApiKeyHint);
        Assert.Single(trips.Calls, c => c.Call == "IApiKeys.GetAsync");
    }

    [Fact]
    public async Task LandingAfterSubscribeSuccessIsGrantedAndKeepsTheEventsState()
    {
        var world = new MarketplaceWorld();
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, NewStyle, 10), Ct);
        var before = await world.Ledger.GetAsync(NewStyle.SubscriberId, Ct);

        var landing = await world.Landing.ExecuteAsync(world.TokenFor(NewStyle), Ct);

        var granted = Assert.IsType<LandingOutcome.Granted>(landing);
        Assert.Equal(Assert.Single(world.Keys.Keys).Value, granted.ApiKeyOnce);
        var after = await world.Ledger.GetAsync(NewStyle.SubscriberId, Ct);
        Assert.True(after!.Registered);
        Assert.True(after.Subscribed);
        Assert.Equal(before!.LastEventAt, after.LastEventAt);
        Assert.Equal(before.LastEvent, after.LastEvent);
        Assert.Equal(SubscriberStatus.Active, after.Status);
    }

    [Fact]
    public async Task ASecondLandingLeadsToTheSameKeyAndNamesItWithoutShowingItAgain()
    {
        var world = new MarketplaceWorld();

        var first = Assert.IsType<LandingOutcome.Pending>(await world.Landing.ExecuteAsync(world.TokenFor(Legacy), Ct));
        var second = Assert.IsType<LandingOutcome.Pending>(await world.Landing.ExecuteAsync(world.TokenFor(Legacy), Ct));

        var key = Assert.Single(world.Keys.Keys);
        Assert.Equal(key.Value, first.ApiKeyOnce);
        Assert.Null(second.ApiKeyOnce);
        Assert.Equal(key.Value!.Reveal()[^4..], second.ApiKeyHint);
        Assert.Equal(key.Id, (await world.Ledger.GetAsync(Legacy.SubscriberId, Ct))!.ShownApiKeyId);
    }

    [Fact]
    public async Task LandingForAProductWeDoNotSellIsRefused()
    {
        var world = new MarketplaceWorld();

        var landing = await world.Landing.ExecuteAsync(world.TokenFor(Legacy, OtherProductCode), Ct);

        Assert.Equal(new LandingOutcome.UnknownProduct(OtherProductCode), landing);
        Assert.Empty(world.Keys.Keys);
        Assert.Empty(world.Ledger.All);
    }

    [Fact]
    public async Task InvalidAndExpiredTokensGetFriendlyOutcomes()
    {
        var world = new MarketplaceWorld();
        world.Metering.With("expired", new ResolveCustomerOutcome.ExpiredToken());

        Assert.IsType<LandingOutcome.InvalidToken>(await world.Landing.ExecuteAsync(new Secret("unknown"), Ct));
        Assert.IsType<LandingOutcome.ExpiredToken>(await world.Landing.ExecuteAsync(new Secret("expired"), Ct));
        Assert.Empty(world.Ledger.All);
    }

    [Fact]
    public async Task MalformedRecordFailsAloneWhileTheRestOfTheBatchIsApplied()
    {
        var world = new MarketplaceWorld();
        var handler = new HandleSubscriptionNotifications(world.Apply, NullLogger<HandleSubscriptionNotifications>.Instance);
        ParsedNotification[] batch =
        [
            new ParsedNotification.Malformed("bad", "unknown action"),
            new ParsedNotification.Event("good", Event(SubscriptionAction.SubscribeSuccess, Legacy, 10)),
            new ParsedNotification.Event("foreign", Event(SubscriptionAction.SubscribeSuccess, NewStyle, 10, productCode: OtherProductCode)),
            new ParsedNotification.NotApplicable("agreement", "no license"),
        ];

        var results = await handler.ExecuteAsync(batch, Ct);

        Assert.Equal(
            [SubscriptionEventStatus.Failed, SubscriptionEventStatus.Applied, SubscriptionEventStatus.Ignored, SubscriptionEventStatus.Ignored],
            results.Select(r => r.Status));
        Assert.True(world.HasAccess(Legacy));
    }

    [Fact]
    public async Task FaultInOneRecordDoesNotStopTheNextRecord()
    {
        var world = new MarketplaceWorld(new ScriptedFaults().CrashBefore("ledger.create"));
        var handler = new HandleSubscriptionNotifications(world.Apply, NullLogger<HandleSubscriptionNotifications>.Instance);
        ParsedNotification[] batch =
        [
            new ParsedNotification.Event("crashes", Event(SubscriptionAction.SubscribeSuccess, NewStyle, 10)),
            new ParsedNotification.Event("applies", Event(SubscriptionAction.SubscribeSuccess, Legacy, 10)),
        ];

        var results = await handler.ExecuteAsync(batch, Ct);

        Assert.Equal([SubscriptionEventStatus.Failed, SubscriptionEventStatus.Applied], results.Select(r => r.Status));
        Assert.True(world.HasAccess(Legacy));
    }

    [Fact]
    public async Task ANewStyleBuyerFirstNamedByTheDocumentedLicenseArnKeepsTheArnResolveCustomerGaveAfterwards()
    {
        var world = new MarketplaceWorld();
        var resolved = MarketplaceCustomer.FromLicense("845735284135", "arn:aws:license-manager::123456789012:license:l-0123456789abcdef0123456789abcdef");
        var documented = MarketplaceCustomer.FromLicense("845735284135", "aws:license-manager:us-east-1:123456789012:l-0123456789abcdef0123456789abcdef");
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, documented, 10), Ct);
        var beforeLanding = await world.Ledger.GetAsync(documented.SubscriberId, Ct);

        var landing = Assert.IsType<LandingOutcome.Granted>(await world.Landing.ExecuteAsync(world.TokenFor(resolved), Ct));
        await world.Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribePending, documented, 20), Ct);

        Assert.Equal(documented.LicenseArn, beforeLanding!.LicenseArn);
        var buyer = Assert.Single(world.Ledger.All);
        Assert.Equal(resolved.SubscriberId, buyer.Id);
        Assert.Equal(resolved.LicenseArn, buyer.LicenseArn);
        Assert.Equal("unsubscribe-pending", buyer.LastNotice);
        Assert.Equal(Assert.Single(world.Keys.Keys).Value, landing.ApiKeyOnce);
    }
}
