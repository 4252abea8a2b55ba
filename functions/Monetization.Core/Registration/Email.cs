using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Monetization.Core.Registration;

/// <summary>
/// An e-mail address that passed validation. <see cref="Normalized"/> (trimmed, lower case, an internationalised
/// domain in its ASCII form) is the subscriber's identity, so two spellings of one address cannot register twice, and
/// it is plain ASCII, which every service the address is sent to accepts.
/// </summary>
/// <remarks>
/// A non-ASCII local part (SMTPUTF8, <c>josé@example.com</c>) is refused at validation: Stripe and many mail systems
/// refuse such addresses, so accepting one would only fail later, after keys and records were made.
/// </remarks>
public sealed record Email
{
    private const int MaxLength = 254;
    private const int MaxLocalPartLength = 64;
    private const string Example = "Enter an e-mail address like name@example.com.";

    private static readonly IdnMapping Idn = new() { UseStd3AsciiRules = true };

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

        var at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != value.LastIndexOf('@') || HasForbiddenCharacter(value))
        {
            error = Example;
            return false;
        }

        var local = value[..at];
        if (!IsAscii(local))
        {
            error = "The part before the @ can only use unaccented letters (a-z), digits and . _ + - ' and similar signs; many mail and billing systems refuse other characters there. Letters with accents and other scripts are fine after the @.";
            return false;
        }

        if (local.Length > MaxLocalPartLength)
        {
            error = $"The part before the @ has at most {MaxLocalPartLength} characters.";
            return false;
        }

        if (!TryAsciiDomain(value[(at + 1)..], out var domain))
        {
            error = Example;
            return false;
        }

        var normalized = $"{local.ToLowerInvariant()}@{domain}";
        if (normalized.Length > MaxLength)
        {
            error = $"An e-mail address has at most {MaxLength} characters.";
            return false;
        }

        email = new Email(normalized);
        error = null;
        return true;
    }

    public override string ToString() => Normalized;

    /// <summary>The domain in lower-case ASCII: an internationalised one converted to its punycode form (IDNA).</summary>
    private static bool TryAsciiDomain(string domain, [NotNullWhen(true)] out string? ascii)
    {
        ascii = null;
        if (domain.Length is < 3 or > MaxLength || domain[0] == '.' || domain[^1] == '.' || !domain.Contains('.', StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            // Lower case first: punycode encodes case, so EXÄMPLE.COM and exämple.com would become two domains.
            ascii = Idn.GetAscii(domain.ToLowerInvariant());
        }
        catch (ArgumentException)
        {
            return false;
        }

        return true;
    }

    private static bool IsAscii(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAscii(c))
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
