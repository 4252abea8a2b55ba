using Monetization.Lambda;

namespace Monetization.SubscriptionEvents;

/// <summary>The function's process: configuration from the environment, then the Runtime API loop until Lambda ends it.</summary>
public static class Program
{
    public static Task<int> Main() => LambdaRuntime.RunAsync(SubscriptionEventsServices.BuildFromEnvironment);
}
