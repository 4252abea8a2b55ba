using System.ComponentModel.DataAnnotations;

namespace Monetization.Core.Usage;

/// <summary>What the usage reporter reports where (section <c>Usage</c>).</summary>
public sealed record UsageReportingOptions
{
    public const string SectionName = "Usage";

    /// <summary>The usage plan of Stripe subscribers' keys.</summary>
    [Required]
    public required string StripeUsagePlanId { get; init; }

    /// <summary>The usage plan listed on Marketplace; empty when nothing is sold there.</summary>
    public string? MarketplaceUsagePlanId { get; init; }

    /// <summary>The product Marketplace buyers are metered on; required with <see cref="MarketplaceUsagePlanId"/>.</summary>
    public string? MarketplaceProductCode { get; init; }

    /// <summary>The Marketplace dimension API requests are metered as.</summary>
    public string MarketplaceDimension { get; init; } = "requests";

    /// <summary>Ledger writes in flight at once.</summary>
    [Range(1, 256)]
    public int LedgerParallelism { get; init; } = 32;

    /// <summary>How often a batch of Marketplace records the service left unprocessed is sent again in one run.</summary>
    [Range(0, 10)]
    public int UnprocessedRetries { get; init; } = 3;
}
