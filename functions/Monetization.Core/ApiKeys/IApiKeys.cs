namespace Monetization.Core.ApiKeys;

/// <summary>What a new API key should look like. Name and tags identify the subscriber it belongs to.</summary>
public sealed record ApiKeySpec(
    string Name,
    string Description,
    bool Enabled,
    string? CustomerId,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>An API Gateway API key. <see cref="Value"/> is only present when it was asked for.</summary>
public sealed record ApiKey(
    string Id,
    string Name,
    bool Enabled,
    string? CustomerId,
    IReadOnlyDictionary<string, string> Tags,
    Secret? Value);

/// <summary>
/// One row of an import (API Gateway's API key file): a key with the value given, created in the usage plans named,
/// or, when a key with that value exists, overwriting it.
/// </summary>
public sealed record ApiKeyImport(string Name, string Description, Secret Value, bool Enabled, IReadOnlyList<string> UsagePlanIds);

/// <summary>What to change on an existing key: the fields given, in one update; null leaves a field as it is.</summary>
public sealed record ApiKeyUpdate(bool? Enabled = null, string? CustomerId = null)
{
    public bool IsEmpty => Enabled is null && CustomerId is null;
}

/// <summary>One day of one key's usage in a usage plan.</summary>
public sealed record DailyUsage(DateOnly Day, long Used, long Remaining);

/// <summary>
/// API keys and usage-plan membership. Operations that API Gateway reports as "already so" (409 on adding a key that
/// is in the plan, 404 on removing one that is not) are expected outcomes and come back as <c>false</c>, not as
/// exceptions, so flows can be retried safely.
/// </summary>
public interface IApiKeys
{
    Task<ApiKey> CreateAsync(ApiKeySpec spec, CancellationToken cancellationToken);

    /// <summary>
    /// Creates every key of <paramref name="keys"/> in one call, already in its usage plans, or none of them (a row
    /// API Gateway warns about fails the whole import).
    /// </summary>
    /// <returns>The keys' ids, in the order of <paramref name="keys"/>.</returns>
    Task<IReadOnlyList<string>> ImportAsync(IReadOnlyList<ApiKeyImport> keys, CancellationToken cancellationToken);

    Task<ApiKey?> GetAsync(string keyId, bool includeValue, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKey>> FindByNameAsync(string name, bool includeValue, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKey>> FindByCustomerIdAsync(string customerId, bool includeValue, CancellationToken cancellationToken);

    /// <summary>How many API keys the account holds in the region, every API's (all pages).</summary>
    Task<int> CountAsync(CancellationToken cancellationToken);

    /// <summary>Changes the given fields of the key in one call.</summary>
    Task UpdateAsync(string keyId, ApiKeyUpdate update, CancellationToken cancellationToken);

    /// <returns><c>false</c> when the key did not exist.</returns>
    Task<bool> DeleteAsync(string keyId, CancellationToken cancellationToken);

    /// <returns><c>false</c> when the key was already in the plan.</returns>
    Task<bool> AddToUsagePlanAsync(string usagePlanId, string keyId, CancellationToken cancellationToken);

    /// <returns><c>false</c> when the key was not in the plan.</returns>
    Task<bool> RemoveFromUsagePlanAsync(string usagePlanId, string keyId, CancellationToken cancellationToken);

    /// <summary>Usage per key per day over the inclusive date range, all pages.</summary>
    Task<IReadOnlyDictionary<string, IReadOnlyList<DailyUsage>>> GetUsageAsync(
        string usagePlanId, DateOnly startDate, DateOnly endDate, string? keyId, CancellationToken cancellationToken);
}
