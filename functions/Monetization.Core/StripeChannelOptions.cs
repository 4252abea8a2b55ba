namespace Monetization.Core;

/// <summary>
/// What every flow of the Stripe channel shares: the usage plan Stripe subscribers' keys join. One home for the fact,
/// bound and validated by the host (which knows the setting's name) and handed to the signup, the billing events and
/// the usage reporter alike.
/// </summary>
public sealed class StripeChannelOptions
{
    /// <summary>The usage plan of Stripe subscribers' keys.</summary>
    public string StripeUsagePlanId { get; set; } = string.Empty;
}
