using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Monetization.Aws.Email;

/// <summary>
/// The "From" of every message: a plain ASCII address (the SES identity that must be verified, and the identity the
/// IAM grant names), optionally with a display name. Written as <c>no-reply@example.com</c>,
/// <c>Example API &lt;no-reply@example.com&gt;</c> or <c>"Example, Inc." &lt;no-reply@example.com&gt;</c>.
/// </summary>
public sealed class SenderAddress
{
    public const int MaxDisplayNameLength = 100;

    private SenderAddress(string address, string? displayName)
    {
        Address = address;
        DisplayName = displayName;
        Domain = address[(address.IndexOf('@', StringComparison.Ordinal) + 1)..];
    }

    /// <summary>The address alone, its domain lower-cased: the SES identity (or, with <see cref="Domain"/>, the identity's domain).</summary>
    public string Address { get; }

    public string Domain { get; }

    public string? DisplayName { get; }

    /// <summary>
    /// <c>FromEmailAddress</c> as SES takes it: the display name as a phrase, quoted when it holds specials, and as an
    /// RFC 2047 encoded word when it is not ASCII (SES requires that for non-ASCII "friendly from" names).
    /// </summary>
    public string WireForm => DisplayName is null ? Address : $"{EncodeDisplayName(DisplayName)} <{Address}>";

    public override string ToString() => WireForm;

    public static bool TryParse(string? value, [NotNullWhen(true)] out SenderAddress? sender, [NotNullWhen(false)] out string? problem)
    {
        sender = null;
        var text = value?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            problem = "is required";
            return false;
        }

        string? name = null;
        var address = text;
        var open = text.LastIndexOf('<');
        if (open >= 0 || text.EndsWith('>'))
        {
            if (open < 0 || !text.EndsWith('>'))
            {
                problem = "must be an address, or a name followed by the address in angle brackets (\"Name <address>\")";
                return false;
            }

            address = text[(open + 1)..^1].Trim();
            name = text[..open].Trim();
            if (!TryReadDisplayName(name, out name, out problem))
            {
                return false;
            }
        }

        if (!TryReadAddress(address, out var normalized, out problem))
        {
            return false;
        }

        sender = new SenderAddress(normalized, name);
        return true;
    }

    private static bool TryReadDisplayName(string raw, out string? name, [NotNullWhen(false)] out string? problem)
    {
        name = null;
        problem = null;
        if (raw.Length >= 2 && raw[0] == '"' && raw[^1] == '"')
        {
            raw = raw[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
        }

        raw = raw.Trim();
        if (raw.Length == 0)
        {
            return true;
        }

        if (raw.Length > MaxDisplayNameLength)
        {
            problem = $"has a display name longer than {MaxDisplayNameLength} characters";
            return false;
        }

        if (raw.Any(c => char.IsControl(c) || c is '<' or '>'))
        {
            problem = "has a display name with a control character or an angle bracket";
            return false;
        }

        name = raw;
        return true;
    }

    private static bool TryReadAddress(string address, out string normalized, [NotNullWhen(false)] out string? problem)
    {
        normalized = string.Empty;
        problem = "must be an e-mail address such as no-reply@example.com (ASCII; an internationalised domain in its xn-- form)";
        var at = address.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != address.LastIndexOf('@') || at == address.Length - 1 || address.Length > 254)
        {
            return false;
        }

        var local = address[..at];
        var domain = address[(at + 1)..].ToLowerInvariant();
        if (local.Length > 64 || local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal) || !local.All(IsAtext))
        {
            return false;
        }

        var labels = domain.Split('.');
        if (labels.Length < 2 || !labels.All(IsDomainLabel))
        {
            return false;
        }

        normalized = $"{local}@{domain}";
        problem = null;
        return true;
    }

    /// <summary>RFC 5322 atext, plus the dot between atoms.</summary>
    private static bool IsAtext(char c) =>
        char.IsAsciiLetterOrDigit(c) || c == '.' || "!#$%&'*+-/=?^_`{|}~".Contains(c, StringComparison.Ordinal);

    private static bool IsDomainLabel(string label) =>
        label.Length is > 0 and <= 63 && !label.StartsWith('-') && !label.EndsWith('-') && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-');

    private static string EncodeDisplayName(string name)
    {
        if (name.All(c => char.IsAscii(c) && (IsAtext(c) || c == ' ') && c != '.'))
        {
            return name;
        }

        if (name.All(c => char.IsAscii(c) && !char.IsControl(c)))
        {
            return "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
        }

        // Encoded words are at most 75 characters: "=?UTF-8?B?" + base64 + "?=" leaves 63, i.e. 45 bytes, and a
        // character is never split across two words.
        var words = new List<string>();
        var chunk = new StringBuilder();
        foreach (var rune in name.EnumerateRunes())
        {
            if (Encoding.UTF8.GetByteCount(chunk.ToString() + rune.ToString()) > 45)
            {
                words.Add(EncodedWord(chunk.ToString()));
                chunk.Clear();
            }

            chunk.Append(rune.ToString());
        }

        words.Add(EncodedWord(chunk.ToString()));
        return string.Join(' ', words);
    }

    private static string EncodedWord(string text) => $"=?UTF-8?B?{Convert.ToBase64String(Encoding.UTF8.GetBytes(text))}?=";
}
