using System.ComponentModel.DataAnnotations;

namespace Monetization.Portal.Hosting;

/// <summary>The Portal's own settings, bound from the <c>Monetization</c> section (environment: <c>Monetization__*</c>).</summary>
/// <remarks>
/// <c>Monetization:StripeUsagePlanId</c> is bound from the same section into <see cref="Core.StripeChannelOptions"/>,
/// its one home, which the flows share.
/// </remarks>
public sealed class PortalOptions : IValidatableObject
{
    public const string Section = "Monetization";

    [Required(ErrorMessage = "Monetization:LedgerTableName is required: the DynamoDB ledger table.")]
    public string LedgerTableName { get; set; } = string.Empty;

    /// <summary>The monetized API's base URL (its stage's invoke URL); the pages show subscribers how to call it.</summary>
    [Required(ErrorMessage = "Monetization:ApiBaseUrl is required: the base URL of the API being sold, e.g. https://abc123defg.execute-api.us-east-1.amazonaws.com/prod.")]
    public string ApiBaseUrl { get; set; } = string.Empty;

    /// <summary>Where subscribers get help: <c>mailto:…</c> or an http(s) URL. Unset: the pages name no contact.</summary>
    public string? SupportContact { get; set; }

    /// <summary>Registrations accepted per client address per minute.</summary>
    [Range(1, 100_000, ErrorMessage = "Monetization:RegisterPermitsPerMinute must be between 1 and 100000.")]
    public int RegisterPermitsPerMinute { get; set; } = 10;

    /// <summary>
    /// Account pages and buttons accepted per client address per minute: each view reads API Gateway's usage count, and
    /// API Gateway's control plane is shared by the whole account.
    /// </summary>
    [Range(1, 100_000, ErrorMessage = "Monetization:AccountPermitsPerMinute must be between 1 and 100000.")]
    public int AccountPermitsPerMinute { get; set; } = 120;

    /// <summary>Marketplace landings accepted per client address per minute; each one costs a ResolveCustomer call.</summary>
    [Range(1, 100_000, ErrorMessage = "Monetization:MarketplacePermitsPerMinute must be between 1 and 100000.")]
    public int MarketplacePermitsPerMinute { get; set; } = 20;

    /// <summary>
    /// How long one request's outside calls may take together, retries included; with the clean-up reserve it must
    /// stay below the function's timeout, or the clean-up that withdraws access after a failure may never run.
    /// </summary>
    [Range(1, 900, ErrorMessage = "Monetization:RequestBudgetSeconds must be between 1 and 900.")]
    public int RequestBudgetSeconds { get; set; } = 18;

    /// <summary>Time kept after the budget for withdrawing access when the request failed.</summary>
    [Range(1, 300, ErrorMessage = "Monetization:CleanupReserveSeconds must be between 1 and 300.")]
    public int CleanupReserveSeconds { get; set; } = 10;

    /// <summary>
    /// The free plan's monthly allowance, as its usage plan's quota has it (the template passes the same parameter to
    /// both), for the pricing page; 0 when not known, and the page names no number.
    /// </summary>
    [Range(0, int.MaxValue, ErrorMessage = "Monetization:FreePlanMonthlyQuota must not be negative.")]
    public int FreePlanMonthlyQuota { get; set; }

    /// <summary>Largest request body accepted, in bytes.</summary>
    [Range(1024, 1_048_576, ErrorMessage = "Monetization:MaxRequestBodyBytes must be between 1024 and 1048576.")]
    public int MaxRequestBodyBytes { get; set; } = 16 * 1024;

    /// <summary>
    /// How Stripe subscribers pay: <c>Checkout</c> (default; the key works once a payment method was entered in Stripe
    /// Checkout) or <c>Invoice</c> (the key works at once; Stripe e-mails invoices, for business customers).
    /// </summary>
    public Monetization.Core.Accounts.PaymentCollection PaymentCollection { get; set; } = Monetization.Core.Accounts.PaymentCollection.Checkout;

    /// <summary>How long a sign-in link works, in minutes.</summary>
    [Range(1, 1440, ErrorMessage = "Monetization:SignInLinkMinutes must be between 1 and 1440.")]
    public int SignInLinkMinutes { get; set; } = 15;

    /// <summary>Sign-in links sent to one address per hour; more requests are answered alike and send nothing.</summary>
    [Range(1, 1000, ErrorMessage = "Monetization:SignInLinksPerAddressPerHour must be between 1 and 1000.")]
    public int SignInLinksPerAddressPerHour { get; set; } = 5;

    /// <summary>Sign-in links the Portal sends in all within one link lifetime; beyond it signups wait.</summary>
    [Range(1, 10_000_000, ErrorMessage = "Monetization:MaxOutstandingSignInLinks must be between 1 and 10000000.")]
    public int MaxOutstandingSignInLinks { get; set; } = 1000;

    /// <summary>How long a customer stays signed in, in hours.</summary>
    [Range(1, 720, ErrorMessage = "Monetization:SessionHours must be between 1 and 720.")]
    public int SessionHours { get; set; } = 12;

    /// <summary>How long a rotated-out key keeps working beside its replacement, in hours; 0 stops it at the next report.</summary>
    [Range(0, 720, ErrorMessage = "Monetization:KeyRotationOverlapHours must be between 0 and 720.")]
    public int KeyRotationOverlapHours { get; set; } = 24;

    /// <summary>With invoice collection: the days a subscriber has to pay each invoice.</summary>
    [Range(0, 730, ErrorMessage = "Monetization:InvoiceDaysUntilDue must be between 0 and 730.")]
    public int InvoiceDaysUntilDue { get; set; } = 30;

    /// <summary>How long a past-due subscription keeps its access while Stripe retries the payment; 0 ends it at once.</summary>
    [Range(0, 8760, ErrorMessage = "Monetization:PastDueGraceHours must be between 0 and 8760.")]
    public int PastDueGraceHours { get; set; } = 72;

    /// <summary>Largest Stripe webhook body accepted, in bytes: events carry whole objects and outgrow form posts.</summary>
    [Range(1024, 4_194_304, ErrorMessage = "Monetization:StripeWebhookMaxBodyBytes must be between 1024 and 4194304.")]
    public int StripeWebhookMaxBodyBytes { get; set; } = 512 * 1024;

    /// <summary>
    /// Where the client's address (the rate limits' partition) and scheme (HSTS, Secure cookies) come from:
    /// <c>Connection</c> (default) or <c>LambdaRequestContext</c>, which the template sets on the function behind API
    /// Gateway. See <see cref="Hosting.ClientAddressSource"/>.
    /// </summary>
    public ClientAddressSource ClientAddressSource { get; set; } = ClientAddressSource.Connection;

    /// <summary>How long one request may run in all: the budget and the clean-up reserve.</summary>
    public TimeSpan RequestLifetime => TimeSpan.FromSeconds(RequestBudgetSeconds + CleanupReserveSeconds);

    /// <summary>The validated <see cref="ApiBaseUrl"/>.</summary>
    public Uri ApiBase() => new(ApiBaseUrl.TrimEnd('/'), UriKind.Absolute);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(ApiBaseUrl) && !IsWebUrl(ApiBaseUrl))
        {
            yield return new ValidationResult("Monetization:ApiBaseUrl must be an absolute https:// or http:// URL.", [nameof(ApiBaseUrl)]);
        }

        if (!string.IsNullOrWhiteSpace(SupportContact) && !IsWebUrl(SupportContact) && !IsMailto(SupportContact))
        {
            yield return new ValidationResult("Monetization:SupportContact must be mailto:address or an absolute https:// or http:// URL.", [nameof(SupportContact)]);
        }
    }

    private static bool IsWebUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) && uri.Host.Length > 0;

    private static bool IsMailto(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeMailto && value.Contains('@', StringComparison.Ordinal);
}

