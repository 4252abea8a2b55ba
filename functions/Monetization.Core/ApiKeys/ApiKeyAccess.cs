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

    /// <summary>The one tag set every key carries.</summary>
    public static IReadOnlyDictionary<string, string> TagsFor(Channel channel) =>
        new Dictionary<string, string>(StringComparer.Ordinal) { [ChannelTag] = channel.ToString().ToLowerInvariant() };

    /// <summary>The key with exactly this name (API Gateway's filter matches prefixes); the lowest id when a race left several.</summary>
    public async Task<ApiKey?> FindAsync(string keyName, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyName);
        var found = await apiKeys.FindByNameAsync(keyName, includeValue, cancellationToken);
        return found
            .Where(k => string.Equals(k.Name, keyName, StringComparison.Ordinal))
            .OrderBy(k => k.Id, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    /// <summary>Creates the holder's key, disabled and in no plan.</summary>
    public async Task<ApiKey> CreateAsync(KeyHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        var key = await apiKeys.CreateAsync(
            new ApiKeySpec(
                holder.KeyName,
                $"Monetization {holder.Channel.ToString().ToLowerInvariant()} subscriber {holder.SubscriberId}",
                Enabled: false,
                holder.CustomerId,
                TagsFor(holder.Channel)),
            cancellationToken);
        LogKeyCreated(holder.SubscriberId, key.Id);
        return key;
    }

    /// <summary>
    /// The holder's key found by its name, else (for a holder with a <c>customerId</c>) a key already linked to that
    /// customer, else a new one (disabled, in no plan).
    /// </summary>
    public async Task<ApiKey> FindOrCreateAsync(KeyHolder holder, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        return await FindAsync(holder.KeyName, includeValue, cancellationToken)
            ?? await FindByCustomerIdAsync(holder.CustomerId, includeValue, cancellationToken)
            ?? await CreateAsync(holder, cancellationToken);
    }

    /// <summary>Sets the key's <c>customerId</c> to the holder's when it differs (API Gateway's Marketplace metering reads it).</summary>
    /// <returns>The key as it now is.</returns>
    public async Task<ApiKey> EnsureCustomerIdAsync(ApiKey key, KeyHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(holder);
        if (holder.CustomerId is not { } customerId || string.Equals(key.CustomerId, customerId, StringComparison.Ordinal))
        {
            return key;
        }

        await apiKeys.SetCustomerIdAsync(key.Id, customerId, cancellationToken);
        return key with { CustomerId = customerId };
    }

    /// <summary>Enables the key and adds it to the plan, side by side (either half alone gives no access).</summary>
    /// <param name="enabled">What the caller knows of the key's enabled flag; null when it does not know, and the flag is set.</param>
    /// <returns>Whether anything changed.</returns>
    public async Task<bool> GrantAsync(string keyId, bool? enabled, string usagePlanId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        ArgumentException.ThrowIfNullOrEmpty(usagePlanId);
        var enable = enabled == true ? Task.CompletedTask : apiKeys.SetEnabledAsync(keyId, true, cancellationToken);
        var add = apiKeys.AddToUsagePlanAsync(usagePlanId, keyId, cancellationToken);
        await Task.WhenAll(enable, add);
        var changed = enabled == false || await add;
        if (changed)
        {
            LogGranted(keyId, usagePlanId);
        }

        return changed;
    }

    /// <summary>
    /// The first step of ending access: the key stops working but stays in its plan, where API Gateway keeps reporting
    /// what it counted until that usage is billed (<see cref="LeavePlanAsync"/> is the last step).
    /// </summary>
    /// <param name="enabled">What the caller knows of the key's enabled flag; null when it does not know, and the flag is set.</param>
    public async Task DisableAsync(string keyId, bool? enabled, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyId);
        if (enabled != false)
        {
            await apiKeys.SetEnabledAsync(keyId, false, cancellationToken);
            LogDisabled(keyId);
        }
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
    /// Takes access away at once, disabling the key and removing it from the plan side by side: only for a key that never
    /// served anyone (a registration that did not hand it out), so there is no usage to settle.
    /// </summary>
    public Task WithdrawUnusedAsync(string keyId, string usagePlanId, CancellationToken cancellationToken) =>
        Task.WhenAll(DisableAsync(keyId, enabled: null, cancellationToken), LeavePlanAsync(keyId, usagePlanId, cancellationToken));

    /// <summary>Deletes every other key with the holder's name: losers of a creation race, which never carried access.</summary>
    public async Task DeleteStraysAsync(KeyHolder holder, string keepKeyId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        ArgumentException.ThrowIfNullOrEmpty(keepKeyId);
        foreach (var deleted in await DeleteNamedAsync(holder, keepKeyId, cancellationToken))
        {
            LogStrayDeleted(holder.SubscriberId, deleted, keepKeyId);
        }
    }

    /// <summary>Deletes every key with the holder's name, which takes their access with them: the holder must have no key.</summary>
    public async Task DeleteAllAsync(KeyHolder holder, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(holder);
        foreach (var deleted in await DeleteNamedAsync(holder, keepKeyId: null, cancellationToken))
        {
            LogKeyDeleted(holder.SubscriberId, deleted);
        }
    }

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

    private async Task<List<string>> DeleteNamedAsync(KeyHolder holder, string? keepKeyId, CancellationToken cancellationToken)
    {
        var deleted = new List<string>();
        var named = await apiKeys.FindByNameAsync(holder.KeyName, includeValue: false, cancellationToken);
        foreach (var key in named)
        {
            if (string.Equals(key.Name, holder.KeyName, StringComparison.Ordinal)
                && !string.Equals(key.Id, keepKeyId, StringComparison.Ordinal)
                && await apiKeys.DeleteAsync(key.Id, cancellationToken))
            {
                deleted.Add(key.Id);
            }
        }

        return deleted;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted stray API key {ApiKeyId} of {SubscriberId}; the subscriber's key is {KeptApiKeyId}")]
    private partial void LogStrayDeleted(string subscriberId, string apiKeyId, string keptApiKeyId);
}
