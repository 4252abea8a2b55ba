using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Monetization.Stripe;

/// <summary>
/// A failed Stripe call: Stripe's error (HTTP status, type, code, param, request id) or, with no status, a network
/// failure or timeout that outlasted the retries. Anything in Stripe's message that looks like a key is masked, so
/// neither <see cref="Exception.Message"/> nor <see cref="ToString"/> can carry a secret into a log.
/// </summary>
public sealed partial class StripeException : Exception
{
    /// <summary>The error type used when no answer came back at all.</summary>
    public const string ConnectionErrorType = "api_connection_error";

    public StripeException()
        : this("Stripe request failed.", null, ConnectionErrorType, null, null, null, null)
    {
    }

    public StripeException(string message)
        : this(message, null, ConnectionErrorType, null, null, null, null)
    {
    }

    public StripeException(string message, Exception? innerException)
        : this(message, null, ConnectionErrorType, null, null, null, innerException)
    {
    }

    public StripeException(string message, int? httpStatus, string type, string? code, string? param, string? requestId, Exception? innerException)
        : base(Redact(message), innerException)
    {
        HttpStatus = httpStatus;
        Type = type;
        Code = code;
        Param = param;
        RequestId = requestId;
    }

    /// <summary>Null when no HTTP answer was received.</summary>
    public int? HttpStatus { get; }

    /// <summary>Stripe's error type (<c>invalid_request_error</c>, <c>idempotency_error</c>, <c>api_error</c>, …).</summary>
    public string Type { get; }

    public string? Code { get; }

    public string? Param { get; }

    public string? RequestId { get; }

    public bool IsIdempotencyError => Type == "idempotency_error";

    public bool IsResourceMissing => Code == "resource_missing";

    /// <summary>
    /// Stripe refuses a meter event whose identifier it already holds with a plain 400 and the message
    /// "An event already exists with identifier …" (no code is documented), so the message is what tells.
    /// </summary>
    public bool IsDuplicateMeterEvent =>
        HttpStatus == 400
        && Type == "invalid_request_error"
        && Message.StartsWith("An event already exists with identifier", StringComparison.Ordinal);

    public override string ToString()
    {
        var text = new StringBuilder(GetType().FullName).Append(": ").Append(Message);
        text.Append(" (status ").Append(HttpStatus?.ToString(CultureInfo.InvariantCulture) ?? "none")
            .Append(", type ").Append(Type);
        if (Code is not null)
        {
            text.Append(", code ").Append(Code);
        }

        if (Param is not null)
        {
            text.Append(", param ").Append(Param);
        }

        if (RequestId is not null)
        {
            text.Append(", request ").Append(RequestId);
        }

        text.Append(')');
        if (InnerException is not null)
        {
            text.Append(" ---> ").Append(InnerException.GetType().FullName).Append(": ").Append(Redact(InnerException.Message));
        }

        if (StackTrace is not null)
        {
            text.AppendLine().Append(StackTrace);
        }

        return text.ToString();
    }

    internal static string Redact(string message) => KeyPattern().Replace(message, m => m.Groups["prefix"].Value + "***");

    [GeneratedRegex(@"(?<prefix>\b(?:sk|rk|pk|whsec)_(?:test_|live_)?)[A-Za-z0-9*]+")]
    private static partial Regex KeyPattern();
}
