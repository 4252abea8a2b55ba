using System.Security.Cryptography;
using System.Text;

namespace Monetization.Core.Ledger;

/// <summary>
/// The stand-in for an identifying value (an e-mail address, a buyer's account) wherever the system has to name a
/// subscriber outside the value itself: ledger ids, API key names and descriptions, Stripe idempotency keys and
/// metadata, log lines. It is deterministic, so a retry derives the same names and keys, ASCII and of fixed length,
/// so it fits every limit (Stripe's 255-character Idempotency-Key, API Gateway's key names), and it carries no
/// personal data.
/// </summary>
public static class SubscriberRef
{
    /// <summary>128 bits of SHA-256: collisions stay negligible far beyond any number of subscribers.</summary>
    public const int Length = 32;

    /// <summary>Lowercase hex of the first <see cref="Length"/> / 2 bytes of SHA-256 over the UTF-8 bytes of <paramref name="value"/>.</summary>
    public static string Hash(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..Length];
    }
}
