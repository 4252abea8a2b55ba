namespace Monetization.Emulators.Marketplace;

public sealed record MarketplaceEmulatorOptions
{
    /// <summary>The seller's product: tokens are minted for it unless told otherwise, and BatchMeterUsage accepts only it.</summary>
    public string ProductCode { get; init; } = "prod-sandbox1234";

    /// <summary>The region the credential scope of every signed request must name.</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>How long a minted registration token resolves. AWS does not publish the figure; tokens are meant to be redeemed at once.</summary>
    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The seller's subscription URL the buyer's browser is sent to; can also be set later on the running emulator.</summary>
    public Uri? LandingUrl { get; init; }

    /// <summary>The SubscriptionEvents handler (Lambda's Stream in, Stream out); can also be set later.</summary>
    public Func<Stream, CancellationToken, Task<Stream>>? EventSink { get; init; }

    /// <summary>The emulator's clock: token expiry, the six-hour metering window, event timestamps.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
