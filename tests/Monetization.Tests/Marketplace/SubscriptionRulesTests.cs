using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;

namespace Monetization.Tests.Marketplace;

public sealed class SubscriptionRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 7, 1, 9, 0, 0, TimeSpan.Zero);
    private static readonly MarketplaceCustomer Buyer = MarketplaceCustomer.FromCustomerIdentifier("CID-1");

    [Fact]
    public void FirstSubscribeSuccessCreatesAnActiveSubscribedRecord()
    {
        var decision = SubscriptionRules.Decide(null, At(SubscriptionAction.SubscribeSuccess, 10), Now);

        Assert.Equal(SubscriptionEventStatus.Applied, decision.Status);
        var next = Assert.IsType<Subscriber>(decision.Next);
        Assert.Equal("mp#cid:CID-1", next.Id);
        Assert.Equal(Channel.Marketplace, next.Channel);
        Assert.True(next.Subscribed);
        Assert.False(next.Registered);
        Assert.Equal(SubscriberStatus.Active, next.Status);
        Assert.Equal("subscribe-success", next.LastEvent);
        Assert.Equal("CID-1", next.MarketplaceCustomerIdentifier);
        Assert.Equal(MarketplaceWorld.ProductCode, next.ProductCode);
    }

    [Theory]
    [InlineData(SubscriptionAction.UnsubscribeSuccess, SubscriberStatus.Cancelled)]
    [InlineData(SubscriptionAction.SubscribeFail, SubscriberStatus.Failed)]
    public void NewerRevocationEndsAccess(SubscriptionAction revocation, SubscriberStatus expected)
    {
        var subscribed = Apply(null, At(SubscriptionAction.SubscribeSuccess, 10));

        var decision = SubscriptionRules.Decide(subscribed, At(revocation, 11), Now);

        Assert.Equal(SubscriptionEventStatus.Applied, decision.Status);
        Assert.False(decision.Next!.Subscribed);
        Assert.Equal(expected, decision.Next.Status);
    }

    [Fact]
    public void OlderGrantArrivingAfterARevocationIsStale()
    {
        var cancelled = Apply(null, At(SubscriptionAction.UnsubscribeSuccess, 20));

        var decision = SubscriptionRules.Decide(cancelled, At(SubscriptionAction.SubscribeSuccess, 10), Now);

        Assert.Equal(SubscriptionEventStatus.Stale, decision.Status);
        Assert.Null(decision.Next);
    }

    [Fact]
    public void RedeliveredEventIsADuplicate()
    {
        var subscribed = Apply(null, At(SubscriptionAction.SubscribeSuccess, 10));

        var decision = SubscriptionRules.Decide(subscribed, At(SubscriptionAction.SubscribeSuccess, 10, "another-delivery-id"), Now);

        Assert.Equal(SubscriptionEventStatus.Duplicate, decision.Status);
    }

    [Theory]
    [InlineData(SubscriptionAction.UnsubscribeSuccess)]
    [InlineData(SubscriptionAction.SubscribeFail)]
    public void RevocationWinsATieWithAGrantWhicheverArrivesFirst(SubscriptionAction revocation)
    {
        var grantFirst = Apply(Apply(null, At(SubscriptionAction.SubscribeSuccess, 10)), At(revocation, 10));
        var revocationFirst = Apply(null, At(revocation, 10));

        Assert.False(grantFirst.Subscribed);
        Assert.Equal(SubscriptionEventStatus.Stale, SubscriptionRules.Decide(revocationFirst, At(SubscriptionAction.SubscribeSuccess, 10), Now).Status);
    }

    [Fact]
    public void UnsubscribePendingIsRecordedAndKeepsAccess()
    {
        var subscribed = Apply(null, At(SubscriptionAction.SubscribeSuccess, 10));

        var decision = SubscriptionRules.Decide(subscribed, At(SubscriptionAction.UnsubscribePending, 11), Now);

        Assert.Equal(SubscriptionEventStatus.Applied, decision.Status);
        Assert.True(decision.Next!.Subscribed);
        Assert.Equal(SubscriberStatus.Suspended, decision.Next.Status);
        Assert.Equal("unsubscribe-pending", decision.Next.LastNotice);
        Assert.Equal("subscribe-success", decision.Next.LastEvent);
    }

    [Fact]
    public void NoticeNeverMakesAnOlderGrantStale()
    {
        var pending = Apply(null, At(SubscriptionAction.UnsubscribePending, 30));

        var decision = SubscriptionRules.Decide(pending, At(SubscriptionAction.SubscribeSuccess, 10), Now);

        Assert.Equal(SubscriptionEventStatus.Applied, decision.Status);
        Assert.True(decision.Next!.Subscribed);
        Assert.Equal(SubscriberStatus.Suspended, decision.Next.Status);
    }

    [Fact]
    public void EntitlementUpdatedIsRecordedWithoutChangingAccess()
    {
        var cancelled = Apply(null, At(SubscriptionAction.UnsubscribeSuccess, 10));

        var next = Apply(cancelled, At(SubscriptionAction.EntitlementUpdated, 11));

        Assert.False(next.Subscribed);
        Assert.Equal(SubscriberStatus.Cancelled, next.Status);
        Assert.Equal("entitlement-updated", next.LastNotice);
    }

    [Fact]
    public void EventNeverOverwritesWhatTheLandingRecorded()
    {
        var landed = new Subscriber
        {
            Id = Buyer.SubscriberId,
            Channel = Channel.Marketplace,
            Status = SubscriberStatus.Pending,
            Registered = true,
            ApiKeyId = "key0001",
            CustomerAwsAccountId = "845735284135",
            LicenseArn = "arn:aws:license-manager::1:license:l-1",
            CreatedAt = Now.AddDays(-1),
            UpdatedAt = Now.AddDays(-1),
            Version = 3,
        };

        var next = Apply(landed, At(SubscriptionAction.SubscribeSuccess, 10));

        Assert.True(next.Registered);
        Assert.Equal("key0001", next.ApiKeyId);
        Assert.Equal("845735284135", next.CustomerAwsAccountId);
        Assert.Equal(Now.AddDays(-1), next.CreatedAt);
        Assert.Equal(3, next.Version);
    }

    [Fact]
    public void MergingKeepsTheNewerDecisionAndTheNewerNoticeOfEitherRecord()
    {
        var licensed = MarketplaceCustomer.FromLicense("845735284135", "arn:aws:license-manager::1:license:l-1");
        var buyer = Buyer.Link(licensed);
        var target = Apply(Apply(null, At(SubscriptionAction.SubscribeSuccess, 10)), At(SubscriptionAction.UnsubscribePending, 30));
        var source = Apply(Apply(null, At(SubscriptionAction.SubscribeSuccess, 5) with { Customer = licensed }), At(SubscriptionAction.UnsubscribeSuccess, 20) with { Customer = licensed });

        var merged = SubscriptionRules.Merge(target, source, buyer, Now);

        Assert.NotNull(merged);
        Assert.Equal(target.Id, merged.Id);
        Assert.False(merged.Subscribed);
        Assert.Equal("unsubscribe-success", merged.LastEvent);
        Assert.Equal("unsubscribe-pending", merged.LastNotice);
        Assert.Equal(SubscriberStatus.Cancelled, merged.Status);
        Assert.Equal("845735284135", merged.CustomerAwsAccountId);
    }

    [Fact]
    public void MergingAnOlderRecordChangesNothing()
    {
        var licensed = MarketplaceCustomer.FromLicense("845735284135", "arn:aws:license-manager::1:license:l-1");
        var target = Apply(null, At(SubscriptionAction.UnsubscribeSuccess, 20));
        var source = Apply(null, At(SubscriptionAction.SubscribeSuccess, 10) with { Customer = licensed });

        Assert.Null(SubscriptionRules.Merge(target, source, Buyer.Link(licensed), Now));
    }

    [Fact]
    public void ALicenseArnMeteringTakesReplacesTheDocumentedEventFormAndIsNotReplacedByItAgain()
    {
        var first = Apply(null, ByLicense(SubscriptionAction.SubscribeSuccess, DocumentedArn, 10));
        var mended = Apply(first, ByLicense(SubscriptionAction.EntitlementUpdated, ResolvedArn, 11));
        var again = Apply(mended, ByLicense(SubscriptionAction.UnsubscribePending, DocumentedArn, 12));

        Assert.Equal(DocumentedArn, first.LicenseArn);
        Assert.Equal(ResolvedArn, mended.LicenseArn);
        Assert.Equal(ResolvedArn, again.LicenseArn);
        Assert.Equal(first.Id, again.Id);
    }

    [Fact]
    public void AStaleLicenseEventMendsADocumentedFormLicenseArnAndDecidesNothingElseButNeverTheOtherWayRound()
    {
        var cancelled = Apply(null, ByLicense(SubscriptionAction.UnsubscribeSuccess, DocumentedArn, 20));

        var mending = SubscriptionRules.Decide(cancelled, ByLicense(SubscriptionAction.SubscribeSuccess, ResolvedArn, 10), Now);
        var unmending = SubscriptionRules.Decide(mending.Next, ByLicense(SubscriptionAction.SubscribeSuccess, DocumentedArn, 5), Now);

        Assert.Equal(SubscriptionEventStatus.Stale, mending.Status);
        Assert.Equal(cancelled with { LicenseArn = ResolvedArn }, mending.Next);
        Assert.Equal(SubscriptionEventStatus.Stale, unmending.Status);
        Assert.Null(unmending.Next);
    }

    private const string ResolvedArn = "arn:aws:license-manager::123456789012:license:l-e52ca6f38bf84d0fafb8802ca15ac11x";

    private const string DocumentedArn = "aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x";

    private static SubscriptionEvent ByLicense(SubscriptionAction action, string licenseArn, int minute) =>
        MarketplaceWorld.Event(action, MarketplaceCustomer.FromLicense("845735284135", licenseArn), minute);

    private static SubscriptionEvent At(SubscriptionAction action, int minute, string? id = null) =>
        MarketplaceWorld.Event(action, Buyer, minute, id);

    private static Subscriber Apply(Subscriber? current, SubscriptionEvent subscriptionEvent) =>
        SubscriptionRules.Decide(current, subscriptionEvent, Now).Next
        ?? throw new InvalidOperationException("expected the event to apply");
}
