using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;

namespace Monetization.Core.Accounts;

public enum RotateOutcome
{
    /// <summary>A new key works now and its value is shown once on the account page; the old one retires.</summary>
    Rotated,

    /// <summary>Only a working key is rotated: the subscriber has none (no access, or access is ending).</summary>
    NoWorkingKey,

    /// <summary><see cref="Subscriber.MaxRetiredKeys"/> replaced keys are still retiring; one must be revoked or settle first.</summary>
    TooManyRetiring,
}

/// <summary>
/// A signed-in subscriber replaces a lost or leaked key. <b>Rotate</b> gives them a new key that works at once while the
/// old one keeps working for the overlap (so a deployment can switch over), then stops; <b>Revoke now</b> stops a
/// retired key at once. Both keys bill to the subscriber while they work, and a retired key, once disabled, stays in
/// its plan until the usage reporter has billed all it served; then it is deleted.
/// </summary>
/// <remarks>
/// A rotation makes the new key before it names it: found by the holder's name among keys the record does not hold (a
/// rotation that crashed after creating it) or created, then granted, then recorded in one conditional write that also
/// retires the old key. Of two rotations racing, the record keeps the first; the other's key, which nobody has seen,
/// is deleted. A value is only ever shown from the record, so a key that never got recorded served nobody.
/// </remarks>
public sealed partial class ManageKeys(ISubscriberLedger ledger, ApiKeyAccess access, AccountOptions options, TimeProvider clock, ILogger<ManageKeys> logger)
{
    public async Task<RotateOutcome> RotateAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        var record = await ledger.GetAsync(subscriberId, cancellationToken);
        if (record is null || !Rotatable(record))
        {
            return RotateOutcome.NoWorkingKey;
        }

        if (record.RetiredKeys.Count >= Subscriber.MaxRetiredKeys)
        {
            return RotateOutcome.TooManyRetiring;
        }

        var holder = HolderOf(record);
        var planId = record.UsagePlanId!;
        var oldKeyId = record.ApiKeyId!;
        var unrecorded = (await access.ReadAsync(holder, recordedKeyId: null, includeValue: false, cancellationToken)).Named
            .FirstOrDefault(k => !record.HoldsKey(k.Id));
        var key = unrecorded ?? await access.CreateAsync(holder, cancellationToken);
        await access.GrantAsync(key.Id, key.Enabled, planId, cancellationToken);

        var now = clock.GetUtcNow();
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is not null && Rotatable(current) && string.Equals(current.ApiKeyId, oldKeyId, StringComparison.Ordinal)
                && current.RetiredKeys.Count < Subscriber.MaxRetiredKeys
                    ? current with
                    {
                        ApiKeyId = key.Id,
                        RetiredKeys = [.. current.RetiredKeys, new RetiredKey(oldKeyId, now + options.KeyOverlap, DisabledAt: null)],
                        UpdatedAt = now,
                    }
                    : null,
            new KnownRecord(record),
            cancellationToken);
        if (update.Written)
        {
            LogRotated(record.Id, oldKeyId, key.Id);
            return RotateOutcome.Rotated;
        }

        if (string.Equals(update.Stored?.ApiKeyId, key.Id, StringComparison.Ordinal))
        {
            // A racing rotation adopted this very key and recorded it.
            return RotateOutcome.Rotated;
        }

        // Another rotation won, or access ended meanwhile: this key was never shown to anyone, so it simply goes.
        await access.DeleteStraysAsync(holder, update.Stored ?? record, cancellationToken);
        return update.Stored is { } stored && Rotatable(stored) ? RotateOutcome.Rotated : RotateOutcome.NoWorkingKey;
    }

    /// <summary>
    /// Stops a retired key at once (a leaked key); it settles like any other. Only the signed-in subscriber's own retired
    /// keys are touched.
    /// </summary>
    /// <returns>Whether the key is one of the subscriber's retired keys.</returns>
    public async Task<bool> RevokeAsync(string subscriberId, string keyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        var record = await ledger.GetAsync(subscriberId, cancellationToken);
        if (record?.RetiredKeys.FirstOrDefault(k => string.Equals(k.Id, keyId, StringComparison.Ordinal)) is not { } retired)
        {
            return false;
        }

        if (retired.DisabledAt is not null)
        {
            return true;
        }

        await access.DisableAsync(keyId, enabled: null, cancellationToken);
        var now = clock.GetUtcNow();
        await ledger.UpdateAsync(
            record.Id,
            current => current is null || !current.RetiredKeys.Any(k => k.Id == keyId && k.DisabledAt is null)
                ? null
                : current with
                {
                    RetiredKeys = [.. current.RetiredKeys.Select(k => k.Id == keyId && k.DisabledAt is null ? k with { RevokeAt = now, DisabledAt = now } : k)],
                    UpdatedAt = now,
                },
            new KnownRecord(record),
            cancellationToken);
        LogRevoked(record.Id, keyId);
        return true;
    }

    /// <summary>The key works and stays working: access granted and not ending.</summary>
    public static bool Rotatable(Subscriber record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record is { Subscribed: true, SettlingSince: null, EndRequestedAt: null, MergedInto: null, ApiKeyId: not null, UsagePlanId: not null };
    }

    private static KeyHolder HolderOf(Subscriber record) => record.Channel switch
    {
        Channel.Stripe => StripeSubscribers.HolderOf(record),
        Channel.Marketplace => MarketplaceCustomer.HolderOf(record),
        _ => throw new ArgumentOutOfRangeException(nameof(record), record.Channel, "No key holder for this channel."),
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Rotated the API key of {SubscriberId}: {NewApiKeyId} replaces {OldApiKeyId}, which retires")]
    private partial void LogRotated(string subscriberId, string oldApiKeyId, string newApiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked retired API key {ApiKeyId} of {SubscriberId} at once")]
    private partial void LogRevoked(string subscriberId, string apiKeyId);
}
