using System.Globalization;

namespace Monetization.Core.Billing;

/// <summary>
/// An amount as Stripe counts it: whole minor units (cents for USD, yen for JPY) of a lower-case ISO 4217 currency.
/// People read and type it in the currency's main unit (<c>25.00 USD</c>); this is the one place that converts.
/// </summary>
public readonly record struct Money(long Minor, string Currency)
{
    /// <summary>Currencies Stripe counts in whole units (no cents).</summary>
    private static readonly HashSet<string> ZeroDecimal = new(
        ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"],
        StringComparer.Ordinal);

    /// <summary>The most a typed amount may be, in main units: a typo of many zeros is refused, not stored.</summary>
    public const long MaxMainUnits = 1_000_000;

    /// <summary>How many decimals the currency's main unit has: 0 for zero-decimal currencies, else 2.</summary>
    public static int DecimalsOf(string currency) => ZeroDecimal.Contains(currency) ? 0 : 2;

    /// <summary>How many minor units make one main unit.</summary>
    public static decimal MinorPerMain(string currency) => DecimalsOf(currency) == 0 ? 1m : 100m;

    /// <summary>
    /// What a person typed, in main units: digits with at most the currency's decimals (a comma for thousands is
    /// allowed, a currency sign or code is not), more than zero and at most <see cref="MaxMainUnits"/>.
    /// </summary>
    /// <param name="error">Why the text is not an amount, in words for the person who typed it.</param>
    public static bool TryParse(string? text, string currency, out Money money, out string? error)
    {
        ArgumentException.ThrowIfNullOrEmpty(currency);
        money = default;
        var decimals = DecimalsOf(currency);
        var trimmed = (text ?? string.Empty).Trim().Replace(",", string.Empty, StringComparison.Ordinal);
        var dot = trimmed.IndexOf('.', StringComparison.Ordinal);
        if (trimmed.Length is 0 or > 20
            || !trimmed.All(c => char.IsAsciiDigit(c) || c == '.')
            || !char.IsAsciiDigit(trimmed[0])
            || (dot >= 0 && (trimmed.IndexOf('.', dot + 1) >= 0 || trimmed.Length - dot - 1 > decimals || dot == trimmed.Length - 1))
            || !decimal.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var main))
        {
            error = decimals == 0
                ? $"Enter a whole number of {currency.ToUpperInvariant()}, such as 2500."
                : $"Enter an amount in {currency.ToUpperInvariant()} with at most two decimals, such as 25.00.";
            return false;
        }

        if (main <= 0 || main > MaxMainUnits)
        {
            error = $"Enter an amount above 0 and at most {MaxMainUnits.ToString("N0", CultureInfo.InvariantCulture)} {currency.ToUpperInvariant()}.";
            return false;
        }

        money = new Money((long)(main * MinorPerMain(currency)), currency);
        error = null;
        return true;
    }

    /// <summary>What <paramref name="units"/> cost at <paramref name="unitAmount"/> minor units each, rounded as Stripe rounds a line (half away from zero).</summary>
    public static Money Of(long units, decimal unitAmount, string currency) =>
        new((long)Math.Round(units * unitAmount, MidpointRounding.AwayFromZero), currency);

    /// <summary>The amount in main units with the currency's decimals, e.g. <c>25.00</c>, as a form field shows it.</summary>
    public string MainUnits => (Minor / MinorPerMain(Currency)).ToString(DecimalsOf(Currency) == 0 ? "0" : "0.00", CultureInfo.InvariantCulture);

    /// <summary>For people: <c>1,234.50 USD</c>.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{(Minor / MinorPerMain(Currency)).ToString(DecimalsOf(Currency) == 0 ? "#,0" : "#,0.00", CultureInfo.InvariantCulture)} {Currency.ToUpperInvariant()}");
}
