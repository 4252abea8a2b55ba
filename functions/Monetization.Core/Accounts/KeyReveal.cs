using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Accounts;

/// <summary>
/// The one time a subscriber sees their key's value. The value is never stored: it is read from API Gateway, which
/// alone holds it, and shown only if a conditional write records first that this key was shown (with its last
/// characters, by which every later page names it); of two pages racing only the one whose write wins shows it. Both
/// the account page and the Marketplace landing show keys this way.
/// </summary>
public sealed class KeyReveal(ISubscriberLedger ledger, ApiKeyAccess access, TimeProvider clock)
{
    public const int HintLength = 4;

    /// <summary>The record as it now stands, and the value when this is the one time it is shown (else null).</summary>
    public async Task<(Subscriber Record, Secret? Value)> ShowOnceAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.ApiKeyId is not { } keyId
            || string.Equals(record.ShownApiKeyId, keyId, StringComparison.Ordinal)
            || await access.ReadValueAsync(keyId, cancellationToken) is not { } value)
        {
            return (record, null);
        }

        var hint = value.Reveal()[^Math.Min(HintLength, value.Reveal().Length)..];
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is not null && string.Equals(current.ApiKeyId, keyId, StringComparison.Ordinal) && !string.Equals(current.ShownApiKeyId, keyId, StringComparison.Ordinal)
                ? current with { ShownApiKeyId = keyId, ApiKeyHint = hint, UpdatedAt = clock.GetUtcNow() }
                : null,
            new KnownRecord(record),
            cancellationToken);
        return (update.Stored ?? record, update.Written ? value : null);
    }
}
