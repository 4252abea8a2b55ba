using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

/// <summary>
/// An error the emulated API answers with. <see cref="Remembered"/> follows Stripe's rule that a request which
/// failed parameter validation never began executing, so its result is not stored under the idempotency key.
/// </summary>
internal sealed class StripeApiException : Exception
{
    public StripeApiException(int status, string type, string message, string? code = null, string? param = null, bool remembered = true)
        : base(message)
    {
        Status = status;
        Type = type;
        Code = code;
        Param = param;
        Remembered = remembered;
    }

    public int Status { get; }

    public string Type { get; }

    public string? Code { get; }

    public string? Param { get; }

    public bool Remembered { get; }

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    public JsonObject ToBody() => ErrorBody(Type, Message, Code, Param);

    public static JsonObject ErrorBody(string type, string message, string? code = null, string? param = null)
    {
        var error = new JsonObject { ["type"] = type, ["message"] = message };
        if (code is not null)
        {
            error["code"] = code;
            error["doc_url"] = $"https://stripe.com/docs/error-codes/{code.Replace('_', '-')}";
        }

        if (param is not null)
        {
            error["param"] = param;
        }

        return new JsonObject { ["error"] = error };
    }

    public static StripeApiException Unknown(string param) =>
        new(400, "invalid_request_error", $"Received unknown parameter: {param}", "parameter_unknown", param, remembered: false);

    public static StripeApiException Missing(string param) =>
        new(400, "invalid_request_error", $"Missing required param: {param}.", "parameter_missing", param, remembered: false);

    public static StripeApiException Invalid(string param, string message, string code = "parameter_invalid_string") =>
        new(400, "invalid_request_error", message, code, param, remembered: false);

    public static StripeApiException NoSuch(string noun, string id, string param, int status) =>
        new(status, "invalid_request_error", $"No such {noun}: '{id}'", "resource_missing", param);
}
