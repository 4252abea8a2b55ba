using System.Globalization;

namespace Monetization.Emulators.Stripe;

/// <summary>
/// The flat form (or query) parameters of one request, e.g. <c>items[0][price]</c>. A handler reads what it knows,
/// then <see cref="RejectUnknown"/> refuses the rest the way Stripe does, before anything changes.
/// </summary>
internal sealed class StripeParams
{
    private readonly Dictionary<string, string> _values;
    private readonly List<string> _order;
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    public StripeParams(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        _values = new Dictionary<string, string>(StringComparer.Ordinal);
        _order = [];
        foreach (var (key, value) in pairs)
        {
            if (_values.TryAdd(key, value))
            {
                _order.Add(key);
            }
            else
            {
                _values[key] = value;
            }
        }
    }

    /// <summary>Every pair in a stable order, for comparing the parameters of two requests.</summary>
    public string Fingerprint => string.Join('&', _order.Order(StringComparer.Ordinal).Select(k => $"{k}={_values[k]}"));

    public string? Optional(string key)
    {
        _consumed.Add(key);
        return _values.TryGetValue(key, out var value) ? value : null;
    }

    public string Required(string key)
    {
        var value = Optional(key);
        return string.IsNullOrEmpty(value) ? throw StripeApiException.Missing(key) : value;
    }

    public long? OptionalInteger(string key)
    {
        var value = Optional(key);
        if (value is null)
        {
            return null;
        }

        return long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw StripeApiException.Invalid(key, $"Invalid integer: {value}", "parameter_invalid_integer");
    }

    public bool? OptionalBoolean(string key) => Optional(key) switch
    {
        null => null,
        "true" => true,
        "false" => false,
        var other => throw StripeApiException.Invalid(key, $"Invalid boolean: {other}"),
    };

    public string? OneOf(string key, params string[] allowed)
    {
        var value = Optional(key);
        if (value is not null && !allowed.Contains(value, StringComparer.Ordinal))
        {
            throw StripeApiException.Invalid(key, $"Invalid {key}: must be one of {string.Join(", ", allowed)}");
        }

        return value;
    }

    /// <summary>
    /// A string map such as <c>metadata[k]=v</c>. <see cref="MapChange.Clear"/> is true for <c>metadata=</c>
    /// (Stripe's way to unset every key); an empty value for one key unsets that key.
    /// </summary>
    public MapChange Map(string name)
    {
        var clear = false;
        if (_values.TryGetValue(name, out var whole))
        {
            _consumed.Add(name);
            if (whole.Length != 0)
            {
                throw StripeApiException.Invalid(name, $"Invalid object: {name} must be a hash or an empty string to unset it", "parameter_invalid_empty");
            }

            clear = true;
        }

        var prefix = name + "[";
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in _order)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal) || !key.EndsWith(']') || key.IndexOf('[', prefix.Length) >= 0)
            {
                continue;
            }

            _consumed.Add(key);
            entries[key[prefix.Length..^1]] = _values[key];
        }

        return new MapChange(clear, entries);
    }

    /// <summary>The indices used under an array parameter, e.g. 0 and 1 for <c>items[0][price]</c>, <c>items[1][price]</c>.</summary>
    public IReadOnlyList<int> Indices(string name)
    {
        var prefix = name + "[";
        var indices = new SortedSet<int>();
        foreach (var key in _order)
        {
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var close = key.IndexOf(']', prefix.Length);
            if (close > prefix.Length && int.TryParse(key.AsSpan(prefix.Length, close - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                indices.Add(index);
            }
        }

        return [.. indices];
    }

    public void RejectUnknown()
    {
        var unknown = _order.FirstOrDefault(k => !_consumed.Contains(k));
        if (unknown is not null)
        {
            throw StripeApiException.Unknown(unknown);
        }
    }
}

internal sealed record MapChange(bool Clear, IReadOnlyDictionary<string, string> Entries)
{
    public bool IsEmpty => !Clear && Entries.Count == 0;

    public IReadOnlyDictionary<string, string> ApplyTo(IReadOnlyDictionary<string, string> current)
    {
        var result = Clear ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (key, value) in Entries)
        {
            if (value.Length == 0)
            {
                result.Remove(key);
            }
            else
            {
                result[key] = value;
            }
        }

        return result;
    }

    public void Validate(string name)
    {
        if (Entries.Count > 50)
        {
            throw StripeApiException.Invalid(name, "You can specify up to 50 keys for metadata.", "parameter_invalid_empty");
        }

        foreach (var (key, value) in Entries)
        {
            if (key.Length is 0 or > 40)
            {
                throw StripeApiException.Invalid($"{name}[{key}]", "Metadata keys must be between 1 and 40 characters long.");
            }

            if (value.Length > 500)
            {
                throw StripeApiException.Invalid($"{name}[{key}]", "Metadata values can have up to 500 characters.");
            }
        }
    }
}
