using System.Text.Json.Serialization;

namespace Monetization.Lambda;

/// <summary>The error body the Runtime API documents for <c>/invocation/{id}/error</c> and <c>/init/error</c>.</summary>
public sealed record LambdaError(
    [property: JsonPropertyName("errorMessage")] string ErrorMessage,
    [property: JsonPropertyName("errorType")] string ErrorType,
    [property: JsonPropertyName("stackTrace")] IReadOnlyList<string> StackTrace)
{
    public static LambdaError From(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var frames = new List<string>();
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (!ReferenceEquals(e, exception))
            {
                frames.Add($"--- caused by {e.GetType().Name}: {e.Message}");
            }

            frames.AddRange((e.StackTrace ?? string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return new LambdaError(exception.Message, exception.GetType().Name, frames);
    }
}

[JsonSerializable(typeof(LambdaError))]
internal sealed partial class LambdaJsonContext : JsonSerializerContext;
