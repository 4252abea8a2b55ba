using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;

namespace Monetization.Core.ApiKeys;

/// <summary>
/// Who an API key belongs to. <see cref="KeyName"/> is deterministic (so a key whose create answer was lost is found
/// again) and, like everything else here that is sent to AWS, carries no personal data.
/// </summary>
/// <param name="SubscriberId">The ledger id of the owner (no personal data).</param>
/// <param name="CustomerId">The key's <c>customerId</c> (Marketplace's legacy CustomerIdentifier), or null.</param>
public sealed record KeyHolder(string SubscriberId, Channel Channel, string KeyName, string? CustomerId);

/// <summary>What API Gateway holds for a holder.</summary>
/// <param name="Recorded">The key the ledger names, or null when it names none or that key no longer exists.</param>
/// <param name="Named">Every key with the holder's exact name, lowest id first (the recorded key among them).</param>
public sealed record HolderKeys(ApiKey? Recorded, IReadOnlyList<ApiKey> Named);

/// <summary>
/// The one way either channel finds, creates, grants and revokes a subscriber's API key.
/// </summary>
/// <remarks>
/// A key gives access only while it is enabled AND in a usage plan that covers the stage. Keys are created disabled and
/// outside every plan; a grant enables the key and adds it to the plan side by side (either half alone gives no
/// access). Ending access takes steps the flows write out: disable the key (access ends there), bill what it used, and
/// only then take it out of the plan, because API Gateway reports usage for the keys in a plan. Every step is
/// idempotent: a repeat, or a retry after a partial failure, converges.
/// </remarks>
public sealed partial class ApiKeyAccess(IApiKeys apiKeys, ILogger<ApiKeyAccess> logger)
{
    public const string ChannelTag = "monetization:channel";

    /// <summary>API keys an account may hold per region (API Gateway's quota; it cannot be raised).</summary>
    public const int AccountKeyLimit = 10_000;

    private const int ValueLength = 40;
    private const string ValueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>The one tag set every key carries.</summary>
    public static IReadOnlyDictionary<string, string> TagsFor(Channel channel) =>
        new Dictionary<string, string>(StringComparer.Ordinal) { [ChannelTag] = channel.ToString().ToLowerInvariant() };

    /// <summary>
    /// What API Gateway holds for the holder, read side by side: the key the ledger recorded (null when there is no
    /// recorded id or that key is gone) and every key with the holder's exact name, lowest id first.
    /// </summary>
    public async Task<HolderKeys> ReadAsync(KeyHolder holder, string? recordedKeyId, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var recorded = recordedKeyId is null ? Task.FromResult<ApiKey?>(null) : apiKeys.GetAsync(recordedKeyId, includeValue, cancellationToken);
        var named = apiKeys.FindByNameAsync(holder.KeyName, includeValue, cancellationToken);
        await Task.WhenAll(recorded, named);
        return new HolderKeys(
            await recorded,
            [.. (await named).Where(k => string.Equals(k.Name, holder.KeyName, StringComparison.Ordinal)).OrderBy(k => k.Id, StringComparer.Ordinal)]);
    }

    /// <summary>
    /// The existing key a holder without a recorded key should take: the lowest-id key with its name (a key whose
    /// recording was cut short, or a race's winner), else (for a holder with a <c>customerId</c>) a key already linked
    /// to that customer; null when there is none.
    /// </summary>
    public async Task<ApiKey?> FindAdoptableAsync(KeyHolder holder, HolderKeys found, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(found);
        return found.Named.FirstOrDefault() ?? await FindByCustomerIdAsync(holder.CustomerId, includeValue, cancellationToken);
    }

    /// <summary>The holder's key found by name or customer (<see cref="FindAdoptableAsync"/>), else a new one.</summary>
    public async Task<ApiKey> FindOrCreateAsync(KeyHolder holder, bool includeValue, CancellationToken cancellationToken) =>
        await FindAdoptableAsync(holder, await ReadAsync(holder, recordedKeyId: null, includeValue, cancellationToken), includeValue, cancellationToken)
        ?? await CreateAsync(holder, cancellationToken);

    /// <summary>The key's value, read from API Gateway (which alone holds it); null when the key is gone.</summary>
    public async Task<Secret?> ReadValueAsync(string keyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        return (await apiKeys.GetAsync(keyId, includeValue: true, cancellationToken))?.Value;
    }

    /// <summary>What the key used each day of the range, in its plan, as API Gateway counted it (today's count included).</summary>
    public async Task<IReadOnlyList<DailyUsage>> UsageAsync(string keyId, string usagePlanId, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(usagePlanId);
        var usage = await apiKeys.GetUsageAsync(usagePlanId, from, to, keyId, cancellationToken);
        return usage.TryGetValue(keyId, out var days) ? days : [];
    }

    /// <summary>
    /// How many API keys the account holds in the region: every API's, not only ours, against API Gateway's fixed
    /// limit of <see cref="AccountKeyLimit"/>.
    /// </summary>
    public Task<int> CountAccountKeysAsync(CancellationToken cancellationToken) => apiKeys.CountAsync(cancellationToken);

    /// <summary>Creates the holder's key, disabled and in no plan.</summary>
    public async Task<ApiKey> CreateAsync(KeyHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var key = await apiKeys.CreateAsync(
            new ApiKeySpec(
                holder.KeyName,
                DescriptionOf(holder),
                Enabled: false,
                holder.CustomerId,
                TagsFor(holder.Channel)),
            cancellationToken);
        LogKeyCreated(holder.SubscriberId, key.Id);
        return key;
    }

    /// <summary>
    /// New keys for <paramref name="keys"/> in one import, each enabled in its usage plan when it is
    /// <see cref="FirstKey.Granted"/> and otherwise disabled in no plan: a key whose value this process drew from a
    /// CSPRNG (API Gateway holds it from here on; nothing else does), named and described as <see cref="CreateAsync"/>
    /// names them. All or none are created.
    /// </summary>
    /// <returns>The new keys' ids, in the order of <paramref name="keys"/>.</returns>
    public async Task<IReadOnlyList<string>> ImportAsync(IReadOnlyList<FirstKey> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var ids = await apiKeys.ImportAsync(
            [.. keys.Select(k => new ApiKeyImport(k.Holder.KeyName, DescriptionOf(k.Holder), NewValue(), k.Granted, k.Granted ? [k.UsagePlanId] : []))],
            cancellationToken);
        foreach (var (key, id) in keys.Zip(ids))
        {
            LogKeyCreated(key.Holder.SubscriberId, id);
            if (key.Granted)
            {
                LogGranted(id, key.UsagePlanId);
            }
        }

        return ids;
    }

    /// <summary>
    /// Deletes a key made for the holder that was never recorded, so never shown (a grant that lost a race, or whose
    /// access ended before it was recorded): it served nothing.
    /// </summary>
    public Task DiscardUnrecordedAsync(KeyHolder holder, string keyId, string? keptKeyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        return DeleteStrayKeyAsync(holder, keyId, keptKeyId ?? "none", cancellationToken);
    }

    /// <summary>A key value as API Gateway generates them: 40 letters and digits, here from a CSPRNG (about 238 bits).</summary>
    public static Secret NewValue() => new(RandomNumberGenerator.GetString(ValueAlphabet, ValueLength));

    /// <summary>
    /// Makes the holder's one key match the decision, every call side by side: with access, the key is enabled and
    /// carries the holder's <c>customerId</c> (one update, only for what differs from <paramref name="key"/>) and is
    /// in the plan; without, it is disabled only (it stays in its plan while its usage settles). Keys named like the
    /// holder's that are not its key (losers of a creation race, which never carried access) are deleted meanwhile.
    /// </summary>
    /// <param name="inPlan">Whether the key is known to be in the plan already (then it is not added again).</param>
    public async Task MatchAsync(
        KeyHolder holder, ApiKey key, bool access, string usagePlanId, IEnumerable<ApiKey> strays, bool inPlan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentException.ThrowIfNullOrEmpty(usagePlanId);
        ArgumentNullException.ThrowIfNull(strays);
        var update = new ApiKeyUpdate(
            key.Enabled == access ? null : access,
            holder.CustomerId is { } customerId && !string.Equals(key.CustomerId, customerId, StringComparison.Ordinal) ? customerId : null);
        var deletes = strays
            .Where(k => !string.Equals(k.Id, key.Id, StringComparison.Ordinal))
            .Select(k => DeleteStrayKeyAsync(holder, k.Id, key.Id, cancellationToken));
        await ApplyAsync(key.Id, update, access && !inPlan ? usagePlanId : null, deletes, cancellationToken);
    }

    /// <summary>Enables the key and adds it to the plan, side by side (either half alone gives no access).</summary>
    /// <param name="enabled">What the caller knows of the key's enabled flag; null when it does not know, and the flag is set.</param>
    /// <returns>Whether anything changed.</returns>
    public Task<bool> GrantAsync(string keyId, bool? enabled, string usagePlanId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(usagePlanId);
        return ApplyAsync(keyId, new ApiKeyUpdate(Enabled: enabled == true ? null : true), usagePlanId, [], cancellationToken);
    }

    /// <summary>
    /// The first step of ending access: the key stops working but stays in its plan, where API Gateway keeps reporting
    /// what it counted until that usage is billed (<see cref="LeavePlanAsync"/> is the last step).
    /// </summary>
    /// <param name="enabled">What the caller knows of the key's enabled flag; null when it does not know, and the flag is set.</param>
    public Task DisableAsync(string keyId, bool? enabled, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        return ApplyAsync(keyId, new ApiKeyUpdate(Enabled: enabled == false ? null : false), grantPlanId: null, [], cancellationToken);
    }

    /// <summary>
    /// Access ended: the subscriber's retiring keys that may still work stop too, whatever their overlap said. Like
    /// the subscriber's key they stay in the plan until what they served is billed.
    /// </summary>
    public Task DisableRetiringAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        return Task.WhenAll(record.RetiredKeys.Where(k => k.DisabledAt is null).Select(k => DisableAsync(k.Id, enabled: null, cancellationToken)));
    }

    /// <summary>The last step of ending access, once the key's usage is billed: the disabled key leaves its plan.</summary>
    /// <returns>Whether the key was in the plan.</returns>
    public async Task<bool> LeavePlanAsync(string keyId, string usagePlanId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(usagePlanId);
        var removed = await apiKeys.RemoveFromUsagePlanAsync(usagePlanId, keyId, cancellationToken);
        if (removed)
        {
            LogLeftPlan(keyId, usagePlanId);
        }

        return removed;
    }

    /// <summary>
    /// Deletes the keys named like the holder's that <paramref name="record"/> does not hold (as its key or a retiring
    /// one): losers of a creation race, or keys a crash left between creating and recording them. None was ever shown
    /// to anyone (a value is shown only once recorded), so there is no usage to settle.
    /// </summary>
    public async Task DeleteStraysAsync(KeyHolder holder, Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentNullException.ThrowIfNull(record);
        var named = await apiKeys.FindByNameAsync(holder.KeyName, includeValue: false, cancellationToken);
        await Task.WhenAll(named
            .Where(k => string.Equals(k.Name, holder.KeyName, StringComparison.Ordinal) && !record.HoldsKey(k.Id))
            .Select(k => DeleteStrayKeyAsync(holder, k.Id, record.ApiKeyId ?? "none", cancellationToken)));
    }

    /// <summary>
    /// The end of a key whose access ended for good (a retired key, or an ended subscription's key after its
    /// retention), once everything it served is billed: deleting it takes it out of its plan and frees its place among
    /// the account's keys.
    /// </summary>
    public async Task DeleteSettledAsync(string subscriberId, string keyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        if (await apiKeys.DeleteAsync(keyId, cancellationToken))
        {
            LogSettledDeleted(subscriberId, keyId);
        }
    }

    /// <summary>Deletes every key with the holder's name, which takes their access with them: the holder must have no key.</summary>
    public async Task DeleteAllAsync(KeyHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var named = await apiKeys.FindByNameAsync(holder.KeyName, includeValue: false, cancellationToken);
        foreach (var key in named.Where(k => string.Equals(k.Name, holder.KeyName, StringComparison.Ordinal)))
        {
            if (await apiKeys.DeleteAsync(key.Id, cancellationToken))
            {
                LogKeyDeleted(holder.SubscriberId, key.Id);
            }
        }
    }

    private static string DescriptionOf(KeyHolder holder) => $"Monetization {holder.Channel.ToString().ToLowerInvariant()} subscriber {holder.SubscriberId}";

    private async Task<ApiKey?> FindByCustomerIdAsync(string? customerId, bool includeValue, CancellationToken cancellationToken)
    {
        if (customerId is null)
        {
            return null;
        }

        var linked = await apiKeys.FindByCustomerIdAsync(customerId, includeValue, cancellationToken);
        return linked
            .Where(k => string.Equals(k.CustomerId, customerId, StringComparison.Ordinal))
            .OrderBy(k => k.Id, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    /// <summary>
    /// The one way a key's access changes: its update (when it changes anything) and, for a grant, its plan membership,
    /// side by side with <paramref name="alongside"/>; either half of a grant alone gives no access.
    /// </summary>
    /// <returns>Whether the key's flag or plan membership changed.</returns>
    private async Task<bool> ApplyAsync(string keyId, ApiKeyUpdate update, string? grantPlanId, IEnumerable<Task> alongside, CancellationToken cancellationToken)
    {
        var patch = update.IsEmpty ? Task.CompletedTask : apiKeys.UpdateAsync(keyId, update, cancellationToken);
        var add = grantPlanId is null ? Task.FromResult(false) : apiKeys.AddToUsagePlanAsync(grantPlanId, keyId, cancellationToken);
        await Task.WhenAll([patch, add, .. alongside]);
        var changed = await add || update.Enabled is not null;
        if (changed && grantPlanId is not null)
        {
            LogGranted(keyId, grantPlanId);
        }
        else if (changed)
        {
            LogDisabled(keyId);
        }

        return changed;
    }

    private async Task DeleteStrayKeyAsync(KeyHolder holder, string strayKeyId, string keptKeyId, CancellationToken cancellationToken)
    {
        if (await apiKeys.DeleteAsync(strayKeyId, cancellationToken))
        {
            LogStrayDeleted(holder.SubscriberId, strayKeyId, keptKeyId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created API key {ApiKeyId} for {SubscriberId}")]
    private partial void LogKeyCreated(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Granted API key {ApiKeyId} access through usage plan {UsagePlanId}")]
    private partial void LogGranted(string apiKeyId, string usagePlanId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Disabled API key {ApiKeyId}")]
    private partial void LogDisabled(string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "API key {ApiKeyId} left usage plan {UsagePlanId}")]
    private partial void LogLeftPlan(string apiKeyId, string usagePlanId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted API key {ApiKeyId} of {SubscriberId}, which must have none")]
    private partial void LogKeyDeleted(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted API key {ApiKeyId} of {SubscriberId}: its access ended and everything it served is billed")]
    private partial void LogSettledDeleted(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted stray API key {ApiKeyId} of {SubscriberId}; the subscriber's key is {KeptApiKeyId}")]
    private partial void LogStrayDeleted(string subscriberId, string apiKeyId, string keptApiKeyId);
}
