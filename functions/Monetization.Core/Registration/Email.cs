using System.Diagnostics.CodeAnalysis;

namespace Monetization.Core.Registration;

/// <summary>
/// An e-mail address that passed validation. <see cref="Normalized"/> (trimmed, lower case) is the subscriber's
/// identity, so two spellings of one address cannot register twice.
/// </summary>
public sealed record Email
{
    private const int MaxLength = 254;
    private const int MaxLocalPartLength = 64;

    private Email(string value) => Normalized = value;

    public string Normalized { get; }

    public static bool TryParse(string? input, [NotNullWhen(true)] out Email? email, [NotNullWhen(false)] out string? error)
    {
        email = null;
        var value = input?.Trim() ?? string.Empty;
        if (value.Length == 0)
        {
            error = "Enter your e-mail address.";
            return false;
        }

        if (value.Length > MaxLength)
        {
            error = $"An e-mail address has at most {MaxLength} characters.";
            return false;
        }

        var at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != value.LastIndexOf('@') || at > MaxLocalPartLength || !IsDomain(value.AsSpan(at + 1)) || HasForbiddenCharacter(value))
        {
            error = "Enter an e-mail address like name@example.com.";
            return false;
        }

        email = new Email(value.ToLowerInvariant());
        error = null;
        return true;
    }

    public override string ToString() => Normalized;

    private static bool IsDomain(ReadOnlySpan<char> domain)
    {
        if (domain.Length < 3 || domain[0] == '.' || domain[^1] == '.' || domain.IndexOf('.') < 0 || domain.IndexOf("..") >= 0)
        {
            return false;
        }

        foreach (var c in domain)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' || c > 127))
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasForbiddenCharacter(string value)
    {
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c is '<' or '>' or '"' or '(' or ')' or ',' or ';' or ':' or '\\' or '[' or ']')
            {
                return true;
            }
        }

        return false;
    }
}
