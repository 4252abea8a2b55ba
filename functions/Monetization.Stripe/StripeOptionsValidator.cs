using Microsoft.Extensions.Options;

namespace Monetization.Stripe;

/// <summary>The connection settings every use of the client needs; messages name the setting, never its value.</summary>
internal sealed class StripeOptionsValidator : IValidateOptions<StripeOptions>
{
    public ValidateOptionsResult Validate(string? name, StripeOptions options)
    {
        var failures = new List<string>();
        var key = options.SecretKey?.Reveal();
        if (key is null)
        {
            failures.Add("Stripe:SecretKey is required.");
        }
        else if (!key.StartsWith("sk_", StringComparison.Ordinal) && !key.StartsWith("rk_", StringComparison.Ordinal))
        {
            failures.Add("Stripe:SecretKey must be a secret (sk_) or restricted (rk_) key.");
        }
        else if (key.Any(char.IsWhiteSpace))
        {
            failures.Add("Stripe:SecretKey must not contain whitespace (a copied line break, say).");
        }

        if (options.ApiBase is null || !options.ApiBase.IsAbsoluteUri || options.ApiBase.Scheme is not ("https" or "http"))
        {
            failures.Add("Stripe:ApiBase must be an absolute http(s) URI.");
        }

        if (options.MeterEventsBase is null || !options.MeterEventsBase.IsAbsoluteUri || options.MeterEventsBase.Scheme is not ("https" or "http"))
        {
            failures.Add("Stripe:MeterEventsBase must be an absolute http(s) URI.");
        }

        if (options.AttemptTimeout <= TimeSpan.Zero)
        {
            failures.Add("Stripe:AttemptTimeout must be positive.");
        }

        if (options.MaxRetries is < 0 or > 10)
        {
            failures.Add("Stripe:MaxRetries must be between 0 and 10.");
        }

        if (options.RetryBaseDelay <= TimeSpan.Zero || options.RetryMaxDelay < options.RetryBaseDelay)
        {
            failures.Add("Stripe:RetryBaseDelay must be positive and Stripe:RetryMaxDelay at least as long.");
        }

        if (options.RateLimitDelay <= TimeSpan.Zero)
        {
            failures.Add("Stripe:RateLimitDelay must be positive.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>What billing needs on top of a working connection.</summary>
internal sealed class StripeBillingOptionsValidator : IValidateOptions<StripeOptions>
{
    public ValidateOptionsResult Validate(string? name, StripeOptions options)
    {
        var failures = new List<string>();
        if (!options.PriceId.StartsWith("price_", StringComparison.Ordinal))
        {
            failures.Add("Stripe:PriceId must be a price id (price_...).");
        }

        if (string.IsNullOrWhiteSpace(options.MeterEventName) || options.MeterEventName.Length > 100)
        {
            failures.Add("Stripe:MeterEventName is required and at most 100 characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
