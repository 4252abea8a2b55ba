using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Monetization.Core.Marketplace;
using Monetization.Core.Usage;

namespace Monetization.SubscriptionEvents;

/// <summary>The function's own settings, bound from the <c>Monetization</c> section (environment: <c>Monetization__*</c>).</summary>
public sealed class SubscriptionEventsOptions
{
    public const string Section = "Monetization";

    [Required(ErrorMessage = "Monetization:LedgerTableName is required: the DynamoDB ledger table.")]
    public string LedgerTableName { get; set; } = string.Empty;

    [Required(ErrorMessage = "Monetization:MarketplaceUsagePlanId is required: the usage plan listed on AWS Marketplace.")]
    public string MarketplaceUsagePlanId { get; set; } = string.Empty;

    /// <summary>Comma-separated product codes we sell; notifications for any other product are acknowledged and ignored.</summary>
    [Required(ErrorMessage = "Monetization:MarketplaceProductCodes is required: the comma-separated product codes we sell.")]
    public string MarketplaceProductCodes { get; set; } = string.Empty;

    public IReadOnlyList<string> ProductCodes => MarketplaceOptions.SplitProductCodes(MarketplaceProductCodes);

    /// <summary>The channel's settings as the flows take them; the list setting is split here, once.</summary>
    public MarketplaceOptions Marketplace() => new() { UsagePlanId = MarketplaceUsagePlanId, ProductCodes = ProductCodes };
}

/// <summary>Checks the options without reflection (generated from the attributes), plus what attributes cannot say.</summary>
[OptionsValidator]
public sealed partial class SubscriptionEventsOptionsValidator : IValidateOptions<SubscriptionEventsOptions>;

internal sealed class ProductCodesValidator : IValidateOptions<SubscriptionEventsOptions>
{
    public ValidateOptionsResult Validate(string? name, SubscriptionEventsOptions options) =>
        !string.IsNullOrWhiteSpace(options.MarketplaceProductCodes) && options.ProductCodes.Count == 0
            ? ValidateOptionsResult.Fail("Monetization:MarketplaceProductCodes names no product code: the comma-separated product codes we sell.")
            : ValidateOptionsResult.Success;
}

/// <summary>The final usage of a buyer whose subscription ends is read from the Marketplace plan and metered on its product.</summary>
internal sealed class MarketplaceUsagePlanValidator : IValidateOptions<UsageReportingOptions>
{
    public ValidateOptionsResult Validate(string? name, UsageReportingOptions options) =>
        options.MarketplaceUsagePlanId is null
            ? ValidateOptionsResult.Fail("Usage:MarketplaceUsagePlanId is required: the Marketplace usage plan whose usage is metered when a buyer's subscription ends.")
            : ValidateOptionsResult.Success;
}
