namespace Monetization.Preflight;

/// <summary>What a deployed stack is configured with: its parameters and outputs, as the checks read them.</summary>
public sealed record StackSettings
{
    public required string Region { get; init; }

    public required string ApiId { get; init; }

    public required string Stage { get; init; }

    public required string StripePlanId { get; init; }

    /// <summary>The free plan's usage plan, when the stack offers one (output <c>FreeUsagePlanId</c>).</summary>
    public string? FreePlanId { get; init; }

    /// <summary>Set together with <see cref="ProductCode"/> when the stack sells on AWS Marketplace.</summary>
    public string? MarketplacePlanId { get; init; }

    public string? ProductCode { get; init; }

    public required string SecretArn { get; init; }

    public required string PriceId { get; init; }

    public required string MeterEventName { get; init; }

    public required Uri PortalUrl { get; init; }

    /// <summary>The address the Portal sends mail from (parameter <c>EmailSenderAddress</c>).</summary>
    public required string EmailSender { get; init; }

    /// <summary>The SES configuration set mail is sent with (parameter <c>EmailConfigurationSet</c>), when one is.</summary>
    public string? EmailConfigurationSet { get; init; }

    /// <summary>The stack's name when it is known; fix commands that act on the stack name it.</summary>
    public string? StackName { get; init; }

    /// <summary>One endpoint for every AWS service (an emulator); the standard endpoint settings otherwise.</summary>
    public Uri? AwsEndpointUrl { get; init; }

    public Uri StripeApiBase { get; init; } = new("https://api.stripe.com");

    public Uri SubscriptionUrl => new(PortalUrl, "marketplace");

    /// <summary>Where Stripe must send the webhooks (the stack output <c>StripeWebhookUrl</c>).</summary>
    public Uri StripeWebhookUrl => new(PortalUrl, "stripe/webhook");
}

/// <summary>One thing wrong with the setup and the command that puts it right.</summary>
/// <param name="Fix">A command line the owner can paste; placeholders in angle brackets stand for values only they have.</param>
public sealed record SetupProblem(string Check, string Description, string Fix);

/// <summary>What a check found: the problems, and the API keys the account holds (null when they could not be listed).</summary>
public sealed record SetupReport(IReadOnlyList<SetupProblem> Problems, int? ApiKeysInAccount);
