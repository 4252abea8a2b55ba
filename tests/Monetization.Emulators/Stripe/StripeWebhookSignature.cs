using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Monetization.Emulators.Stripe;

/// <summary>Builds <c>Stripe-Signature</c> headers the way Stripe signs webhook deliveries.</summary>
public static class StripeWebhookSignature
{
    /// <summary>
    /// <c>t=&lt;unix&gt;,v1=&lt;hex&gt;</c>: HMAC-SHA256 over <c>"{t}.{payload}"</c>, keyed by the whole <c>whsec_</c>
    /// secret as UTF-8, lowercase hex.
    /// </summary>
    public static string Compute(string webhookSecret, string payload, DateTimeOffset timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(webhookSecret);
        ArgumentNullException.ThrowIfNull(payload);
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return $"t={t},v1={Sign(webhookSecret, t, payload)}";
    }

    /// <summary>The bare <c>v1</c> value, for headers that carry several signatures.</summary>
    public static string Sign(string webhookSecret, string unixTimestamp, string payload)
    {
        ArgumentException.ThrowIfNullOrEmpty(webhookSecret);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(webhookSecret), Encoding.UTF8.GetBytes($"{unixTimestamp}.{payload}"));
        return Convert.ToHexStringLower(mac);
    }
}
