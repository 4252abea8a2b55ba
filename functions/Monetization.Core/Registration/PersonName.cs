using System.Diagnostics.CodeAnalysis;

namespace Monetization.Core.Registration;

/// <summary>A first or last name: 1-100 characters (Unicode code points) once trimmed, no control characters.</summary>
public sealed record PersonName
{
    /// <summary>
    /// Counted in code points, so a name in a script outside the Basic Multilingual Plane is not cut to half. The
    /// signup form's <c>maxlength</c> is the same number; browsers count UTF-16 units there, which is never more
    /// lenient than this.
    /// </summary>
    public const int MaxLength = 100;

    private PersonName(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse(string? input, string field, [NotNullWhen(true)] out PersonName? name, [NotNullWhen(false)] out string? error)
    {
        name = null;
        var value = input?.Trim() ?? string.Empty;
        if (value.Length == 0)
        {
            error = $"Enter your {field}.";
            return false;
        }

        if (value.EnumerateRunes().Count() > MaxLength)
        {
            error = $"Your {field} can have at most {MaxLength} characters.";
            return false;
        }

        foreach (var c in value)
        {
            if (char.IsControl(c) || char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Format)
            {
                error = $"Your {field} contains a character that is not allowed.";
                return false;
            }
        }

        name = new PersonName(value);
        error = null;
        return true;
    }

    public override string ToString() => Value;
}
