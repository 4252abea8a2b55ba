using System.Security.Cryptography;
using System.Text;

namespace Monetization.Core.Accounts;

/// <summary>
/// The random values that prove something to the Portal: sign-in link tokens and session cookies. 256 bits from the
/// operating system's CSPRNG, base64url without padding (43 characters, safe in a URL and a cookie). Only their
/// SHA-256 is stored, so reading the ledger gives nobody a working link or session.
/// </summary>
public static class AccountTokens
{
    public const int Length = 43;

    public static Secret New() => new(Base64Url(RandomNumberGenerator.GetBytes(32)));

    /// <summary>Lowercase hex SHA-256 of the token's text.</summary>
    public static string Hash(Secret token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(token.Reveal())));
    }

    /// <summary>Whether <paramref name="value"/> has the shape of a token; anything else is refused before any lookup.</summary>
    public static bool IsWellFormed(string? value) =>
        value is { Length: Length } && value.All(c => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
