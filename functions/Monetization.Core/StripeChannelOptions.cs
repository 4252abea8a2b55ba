namespace Monetization.Core;

/// <summary>
/// What every flow of the Stripe channel shares: the usage plans Stripe subscribers' keys join. One home for the fact,
/// bound and validated by the host (which knows the setting's name) and handed to the signup, the billing events and
/// the usage reporter alike.
/// </summary>
public sealed class StripeChannelOptions
{
    /// <summary>The usage plan of paying Stripe subscribers' keys: what their keys serve is billed.</summary>
    public string StripeUsagePlanId { get; set; } = string.Empty;

    /// <summary>
    /// The usage plan of the free plan's keys (its quota is the free allowance; nothing of it is billed), or empty when
    /// the API is not offered free.
    /// </summary>
    public string FreeUsagePlanId { get; set; } = string.Empty;

    public bool OffersFreePlan => FreeUsagePlanId.Length > 0;
}
