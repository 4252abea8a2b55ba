using Monetization.Core.Billing;
using Monetization.Core.Ledger;

namespace Monetization.Tests.Billing;

public sealed class BillingRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromHours(72);

    private static Subscriber Record(SubscriberStatus status = SubscriberStatus.Active, DateTimeOffset? pastDueSince = null, string? subscriptionId = "sub_1") => new()
    {
        Id = "stripe#abc",
        Channel = Channel.Stripe,
        Status = status,
        ApiKeyId = "key1",
        StripeCustomerId = "cus_1",
        StripeSubscriptionId = subscriptionId,
        Registered = true,
        Subscribed = status == SubscriberStatus.Active,
        PastDueSince = pastDueSince,
        CreatedAt = Now.AddDays(-40),
        UpdatedAt = Now.AddDays(-40),
        Version = 3,
    };

    private static BillingSubscription Subscription(BillingSubscriptionStatus status, string id = "sub_1") => new(id, "cus_1", status);

    [Theory]
    [InlineData(BillingSubscriptionStatus.Active, AccessChange.Grant, SubscriberStatus.Active)]
    [InlineData(BillingSubscriptionStatus.Trialing, AccessChange.Grant, SubscriberStatus.Active)]
    [InlineData(BillingSubscriptionStatus.Unpaid, AccessChange.Revoke, SubscriberStatus.Suspended)]
    [InlineData(BillingSubscriptionStatus.Paused, AccessChange.Revoke, SubscriberStatus.Suspended)]
    [InlineData(BillingSubscriptionStatus.Canceled, AccessChange.Revoke, SubscriberStatus.Cancelled)]
    [InlineData(BillingSubscriptionStatus.IncompleteExpired, AccessChange.Revoke, SubscriberStatus.Cancelled)]
    [InlineData(BillingSubscriptionStatus.Incomplete, AccessChange.Keep, SubscriberStatus.Active)]
    [InlineData(BillingSubscriptionStatus.Other, AccessChange.Keep, SubscriberStatus.Active)]
    public void TheSubscriptionsCurrentStatusDecidesAccess(BillingSubscriptionStatus status, AccessChange access, SubscriberStatus recorded)
    {
        var decision = BillingRules.Decide(Record(), Subscription(status), Now, Grace);

        Assert.Equal(access, decision.Access);
        Assert.Equal(recorded, (decision.Next ?? Record()).Status);
    }

    [Fact]
    public void TheFirstPastDueSightingStartsTheGracePeriodAndKeepsAccess()
    {
        var decision = BillingRules.Decide(Record(), Subscription(BillingSubscriptionStatus.PastDue), Now, Grace);

        Assert.Equal(AccessChange.Keep, decision.Access);
        Assert.Equal(Now, decision.Next!.PastDueSince);
        Assert.Equal(SubscriberStatus.Active, decision.Next.Status);
    }

    [Fact]
    public void ALaterPastDueSightingWithinTheGraceKeepsTheFirstSightingsTime()
    {
        var decision = BillingRules.Decide(Record(pastDueSince: Now.AddHours(-71)), Subscription(BillingSubscriptionStatus.PastDue), Now, Grace);

        Assert.Equal(AccessChange.Keep, decision.Access);
        Assert.Equal(Now.AddHours(-71), decision.Next!.PastDueSince);
    }

    [Fact]
    public void APastDueSightingAfterTheGraceRevokesAccess()
    {
        var decision = BillingRules.Decide(Record(pastDueSince: Now.AddHours(-72)), Subscription(BillingSubscriptionStatus.PastDue), Now, Grace);

        Assert.Equal(AccessChange.Revoke, decision.Access);
        Assert.Equal(SubscriberStatus.Suspended, decision.Next!.Status);
        Assert.False(decision.Next.Subscribed);
    }

    [Fact]
    public void NoGracePeriodRevokesAtTheFirstPastDueSighting()
    {
        Assert.Equal(AccessChange.Revoke, BillingRules.Decide(Record(), Subscription(BillingSubscriptionStatus.PastDue), Now, TimeSpan.Zero).Access);
    }

    [Fact]
    public void PayingUpEndsTheSpellOfArrears()
    {
        var decision = BillingRules.Decide(Record(SubscriberStatus.Suspended, Now.AddDays(-5)), Subscription(BillingSubscriptionStatus.Active), Now, Grace);

        Assert.Equal(AccessChange.Grant, decision.Access);
        Assert.Null(decision.Next!.PastDueSince);
        Assert.True(decision.Next.Subscribed);
    }

    [Fact]
    public void AnotherSubscriptionOfTheSameCustomerDecidesNothing()
    {
        var decision = BillingRules.Decide(Record(), Subscription(BillingSubscriptionStatus.Canceled, "sub_other"), Now, Grace);

        Assert.Equal(AccessChange.Keep, decision.Access);
        Assert.Null(decision.Next);
    }

    [Fact]
    public void ARecordWithoutASubscriptionAdoptsTheOneItIsToldAbout()
    {
        var decision = BillingRules.Decide(Record(SubscriberStatus.Pending, subscriptionId: null), Subscription(BillingSubscriptionStatus.Active, "sub_new"), Now, Grace);

        Assert.Equal(AccessChange.Grant, decision.Access);
        Assert.Equal("sub_new", decision.Next!.StripeSubscriptionId);
    }

    [Fact]
    public void ARepeatOfTheSameStateWritesNothing()
    {
        var first = BillingRules.Decide(Record(), Subscription(BillingSubscriptionStatus.Active), Now, Grace).Next!;

        Assert.Null(BillingRules.Decide(first, Subscription(BillingSubscriptionStatus.Active), Now.AddMinutes(5), Grace).Next);
    }
}
