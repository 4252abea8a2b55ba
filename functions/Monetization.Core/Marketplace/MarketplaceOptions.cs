using System.ComponentModel.DataAnnotations;

namespace Monetization.Core.Marketplace;

/// <summary>The Marketplace channel's settings; the hosts bind and validate them.</summary>
public sealed record MarketplaceOptions
{
    /// <summary>The usage plan listed on Marketplace; a buyer has access exactly when the key is in it and enabled.</summary>
    [Required]
    public required string UsagePlanId { get; init; }

    /// <summary>Product codes we sell. Events and landings for any other product are refused.</summary>
    [Required]
    public required IReadOnlyList<string> ProductCodes { get; init; }

    /// <summary>Product codes from one comma-separated setting (how an environment variable carries a list); blanks are dropped.</summary>
    public static IReadOnlyList<string> SplitProductCodes(string? value) =>
        (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public bool Sells(string? productCode) =>
        productCode is not null && ProductCodes.Contains(productCode, StringComparer.Ordinal);
}
