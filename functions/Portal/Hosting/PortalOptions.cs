using System.ComponentModel.DataAnnotations;

namespace Monetization.Portal.Hosting;

/// <summary>The Portal's own settings, bound from the <c>Monetization</c> section (environment: <c>Monetization__*</c>).</summary>
public sealed class PortalOptions
{
    public const string Section = "Monetization";

    [Required(ErrorMessage = "Monetization:LedgerTableName is required: the DynamoDB ledger table.")]
    public string LedgerTableName { get; set; } = string.Empty;

    [Required(ErrorMessage = "Monetization:StripeUsagePlanId is required: the usage plan Stripe subscribers' keys join.")]
    public string StripeUsagePlanId { get; set; } = string.Empty;

    /// <summary>Registrations accepted per client address per minute.</summary>
    [Range(1, 100_000, ErrorMessage = "Monetization:RegisterPermitsPerMinute must be between 1 and 100000.")]
    public int RegisterPermitsPerMinute { get; set; } = 10;

    /// <summary>
    /// How long one request's outside calls may take together, retries included; with the clean-up reserve it must
    /// stay below the function's timeout, or the clean-up that withdraws access after a failure may never run.
    /// </summary>
    [Range(1, 900, ErrorMessage = "Monetization:RequestBudgetSeconds must be between 1 and 900.")]
    public int RequestBudgetSeconds { get; set; } = 18;

    /// <summary>Time kept after the budget for withdrawing access when the request failed.</summary>
    [Range(1, 300, ErrorMessage = "Monetization:CleanupReserveSeconds must be between 1 and 300.")]
    public int CleanupReserveSeconds { get; set; } = 10;

    /// <summary>Largest request body accepted, in bytes.</summary>
    [Range(1024, 1_048_576, ErrorMessage = "Monetization:MaxRequestBodyBytes must be between 1024 and 1048576.")]
    public int MaxRequestBodyBytes { get; set; } = 16 * 1024;
}

/// <summary>Where AWS is reached, bound from the <c>Aws</c> section; everything unset follows the SDK's standard settings.</summary>
public sealed class AwsSettings
{
    public const string Section = "Aws";

    public string? Region { get; set; }

    /// <summary>One endpoint for every AWS service (an emulator); <c>AWS_ENDPOINT_URL</c> does the same from the environment.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>API Gateway's endpoint alone (like <c>AWS_ENDPOINT_URL_API_GATEWAY</c>); wins over <see cref="ServiceUrl"/>.</summary>
    public Uri? ApiGatewayServiceUrl { get; set; }
}
