using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe;
using Monetization.Stripe.Operations;

namespace Monetization.Tests.Stripe;

/// <summary>Any parameters through the client's one transport seam, for requests the typed operations never build.</summary>
internal sealed record RawOperation<T>(HttpMethod Method, string Path, JsonTypeInfo<T> ResponseType, params KeyValuePair<string, string>[] Parameters) : IStripeOperation<T>
{
    public void WriteParameters(StripeForm form)
    {
        foreach (var (key, value) in Parameters)
        {
            form.Add(key, value);
        }
    }
}
