using Microsoft.Extensions.Options;
using Monetization.Core;

namespace Monetization.Aws;

/// <summary>
/// The Stripe channel's plans as every host checks them: a paid plan always, and a free plan, when offered, of its own.
/// </summary>
/// <param name="section">The configuration section the host binds them from, for the messages.</param>
public sealed class StripeChannelOptionsValidator(string section) : IValidateOptions<StripeChannelOptions>
{
    public ValidateOptionsResult Validate(string? name, StripeChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return string.IsNullOrWhiteSpace(options.StripeUsagePlanId)
            ? ValidateOptionsResult.Fail($"{section}:StripeUsagePlanId is required: the usage plan Stripe subscribers' keys join.")
            : string.Equals(options.FreeUsagePlanId, options.StripeUsagePlanId, StringComparison.Ordinal)
                ? ValidateOptionsResult.Fail($"{section}:FreeUsagePlanId must be a usage plan of its own, not {section}:StripeUsagePlanId: what the free plan serves is never billed.")
                : ValidateOptionsResult.Success;
    }
}
