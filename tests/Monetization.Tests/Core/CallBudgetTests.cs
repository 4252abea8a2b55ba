using Monetization.Core;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Core;

public sealed class CallBudgetTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void WorkGetsWhatIsLeftOfTheBudgetAndCleanUpAfterItTheReserve()
    {
        var clock = new ManualTimeProvider(Start);
        using var budget = CallBudget.Begin(clock, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));

        clock.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(TimeSpan.FromMilliseconds(500), CallBudget.Limit(Timeout.InfiniteTimeSpan));
        clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.Equal(TimeSpan.FromMilliseconds(2500), CallBudget.Limit(Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public void CleanUpThatStartsAMomentBeforeTheDeadlineStillGetsTheReserve()
    {
        var clock = new ManualTimeProvider(Start);
        using var budget = CallBudget.Begin(clock, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
        clock.Advance(TimeSpan.FromMilliseconds(1996));

        TimeSpan inCleanup;
        using (CallBudget.Cleanup())
        {
            inCleanup = CallBudget.Limit(Timeout.InfiniteTimeSpan);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(3004), inCleanup);
        Assert.Equal(TimeSpan.FromMilliseconds(4), CallBudget.Limit(Timeout.InfiniteTimeSpan));
        Assert.Equal(TimeSpan.FromMilliseconds(4), CallBudget.Limit(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public void WithoutABudgetCleanUpChangesNothing()
    {
        using (CallBudget.Cleanup())
        {
            Assert.Equal(TimeSpan.FromSeconds(7), CallBudget.Limit(TimeSpan.FromSeconds(7)));
        }
    }
}
