namespace Monetization.Emulators.Stripe;

public sealed record StripeEmulatorOptions
{
    /// <summary>The only secret key the emulator accepts as <c>Authorization: Bearer</c>.</summary>
    public string SecretKey { get; init; } = "sk_test_emulator";

    /// <summary>Signs webhook deliveries; the receiver verifies with the same <c>whsec_</c> string.</summary>
    public string WebhookSecret { get; init; } = "whsec_emulator";

    /// <summary>Where webhook events are POSTed; can also be set later on the running emulator.</summary>
    public Uri? WebhookUrl { get; init; }

    /// <summary>The emulator's clock: <c>created</c> stamps, meter event time limits, idempotency expiry.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>The <c>api_version</c> written into webhook events.</summary>
    public string ApiVersion { get; init; } = "2026-10-28.endive";
}
