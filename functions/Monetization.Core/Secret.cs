namespace Monetization.Core;

/// <summary>
/// A value that must never reach a log line or an exception message: API key values, Marketplace registration
/// tokens, Stripe and webhook secrets. <see cref="ToString"/> is redacted; only <see cref="Reveal"/> gives the value,
/// so every place that exposes it is explicit and searchable.
/// </summary>
public sealed class Secret : IEquatable<Secret>
{
    private readonly string _value;

    public Secret(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _value = value;
    }

    public string Reveal() => _value;

    public override string ToString() => "***";

    public bool Equals(Secret? other) => other is not null && string.Equals(_value, other._value, StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as Secret);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_value);
}
