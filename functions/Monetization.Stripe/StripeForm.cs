using System.Globalization;
using System.Text;

namespace Monetization.Stripe;

/// <summary>
/// Stripe's v1 body (and query) encoding: nested parameters flattened to bracketed keys such as
/// <c>items[0][price]</c>, keys and values percent-encoded, pairs in the order written and maps in ordinal key order,
/// so equal requests encode to equal bytes (Stripe compares parameters when it replays an idempotency key).
/// </summary>
public sealed class StripeForm
{
    private readonly List<KeyValuePair<string, string>> _pairs = [];

    public IReadOnlyList<KeyValuePair<string, string>> Pairs => _pairs;

    public StripeForm Add(string key, string? value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (value is not null)
        {
            _pairs.Add(new(key, value));
        }

        return this;
    }

    public StripeForm Add(string key, long? value) => Add(key, value?.ToString(CultureInfo.InvariantCulture));

    public StripeForm Add(string key, bool? value) => Add(key, value switch { null => null, true => "true", false => "false" });

    public StripeForm AddMap(string name, IReadOnlyDictionary<string, string>? map)
    {
        if (map is null)
        {
            return this;
        }

        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            Add($"{name}[{key}]", value);
        }

        return this;
    }

    public string Encode()
    {
        var builder = new StringBuilder();
        foreach (var (key, value) in _pairs)
        {
            if (builder.Length > 0)
            {
                builder.Append('&');
            }

            builder.Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return builder.ToString();
    }
}
