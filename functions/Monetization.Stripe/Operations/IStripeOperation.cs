using System.Text.Json.Serialization.Metadata;

namespace Monetization.Stripe.Operations;

/// <summary>
/// One Stripe API call: where it goes, what it sends and how its answer is read. GET parameters travel in the query
/// string, everything else in a form body.
/// </summary>
public interface IStripeOperation<TResponse>
{
    HttpMethod Method { get; }

    /// <summary>The path under the API base, with every id already escaped (see <see cref="StripePath"/>).</summary>
    string Path { get; }

    JsonTypeInfo<TResponse> ResponseType { get; }

    void WriteParameters(StripeForm form);
}

public static class StripePath
{
    /// <summary>Escapes one path segment, so an id can never step into another route.</summary>
    public static string Segment(string id)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        return Uri.EscapeDataString(id);
    }
}
