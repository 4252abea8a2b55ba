using Amazon.Runtime;
using Microsoft.Extensions.Options;

namespace Monetization.Aws;

/// <summary>
/// How to reach one AWS service. Everything left unset comes from the standard settings (environment, shared profile,
/// default credential chain); setting a value here wins, which lets tests and the sandbox point at an emulator without
/// touching process-wide state.
/// </summary>
public sealed class AwsClientOptions
{
    public string? Region { get; set; }

    /// <summary>Overrides <c>AWS_ENDPOINT_URL_*</c> / <c>AWS_ENDPOINT_URL</c> and the public endpoint.</summary>
    public Uri? ServiceUrl { get; set; }

    /// <summary>Overrides the default credential chain.</summary>
    public ImmutableCredentials? Credentials { get; set; }

    /// <summary>Retries after the first attempt, for throttling and 5xx answers only.</summary>
    public int MaxRetries { get; set; } = 3;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Region is not null && string.IsNullOrWhiteSpace(Region))
        {
            errors.Add($"{nameof(Region)} must not be blank.");
        }

        if (ServiceUrl is { } url && (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp)))
        {
            errors.Add($"{nameof(ServiceUrl)} must be an absolute http(s) URL.");
        }

        if (MaxRetries is < 0 or > 10)
        {
            errors.Add($"{nameof(MaxRetries)} must be between 0 and 10.");
        }

        if (RetryBaseDelay < TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay)
        {
            errors.Add($"{nameof(RetryBaseDelay)} must not be negative and {nameof(RetryMaxDelay)} must not be below it.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(Timeout)} must be positive.");
        }

        return errors;
    }
}

public sealed class AwsClientOptionsValidator : IValidateOptions<AwsClientOptions>
{
    public ValidateOptionsResult Validate(string? name, AwsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        var prefix = string.IsNullOrEmpty(name) ? "AWS client" : name;
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors.Select(e => $"{prefix}: {e}"));
    }
}
