using System.Globalization;

namespace Monetization.Stripe;

/// <summary>
/// Stripe refused the configured secret key: a configuration error, not an outage, so nothing retries it and no user
/// is told to try again. The message names the setting to fix and never carries the key or Stripe's text about it.
/// </summary>
public sealed class StripeKeyRejectedException : Exception
{
    public StripeKeyRejectedException()
        : this("a request", 401, null)
    {
    }

    public StripeKeyRejectedException(string message)
        : base(message)
    {
        Operation = string.Empty;
    }

    public StripeKeyRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Operation = string.Empty;
    }

    public StripeKeyRejectedException(string operation, int httpStatus, string? requestId)
        : base(Describe(operation, httpStatus, requestId))
    {
        Operation = operation;
        HttpStatus = httpStatus;
        RequestId = requestId;
    }

    /// <summary>The setting that holds the rejected key.</summary>
    public const string Setting = "Stripe:SecretKey";

    public string Operation { get; }

    /// <summary>401: the key is not valid (wrong, rolled, or of the other mode); 403: a restricted key lacks a permission.</summary>
    public int HttpStatus { get; }

    public string? RequestId { get; }

    private static string Describe(string operation, int httpStatus, string? requestId)
    {
        var fix = httpStatus == 403
            ? "the restricted key lacks the permission this call needs; grant it or use a key that has it."
            : "the key is not valid for this account and mode; put a current sk_live_/rk_live_ key (sk_test_ in test mode) into the Stripe secret.";
        return string.Create(CultureInfo.InvariantCulture, $"Stripe refused the secret key in {Setting} for {operation} ({httpStatus}, request {requestId ?? "unknown"}): {fix}");
    }
}
