using Monetization.Lambda;

namespace Monetization.SubscriptionEvents;

/// <summary>The function's process: its host built from the environment, then the Runtime API loop until Lambda ends it.</summary>
public static class Program
{
    public static Task<int> Main() => LambdaRuntime.RunAsync(SubscriptionEventsServices.BuildHost);
}
