using System.Globalization;
using Monetization.Aws.Http;
using Monetization.Core;
using Monetization.Core.ApiKeys;

namespace Monetization.Aws.ApiGateway;

/// <summary><see cref="IApiKeys"/> over API Gateway. "Already so" answers (409 on add, 404 on remove or delete) are <c>false</c>.</summary>
public sealed class ApiGatewayApiKeys : IApiKeys
{
    private static readonly IReadOnlyDictionary<string, string> NoTags = new Dictionary<string, string>();

    private readonly ApiGatewayClient _client;

    public ApiGatewayApiKeys(ApiGatewayClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
    }

    public async Task<ApiKey> CreateAsync(ApiKeySpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var created = await _client.CreateApiKeyAsync(
            new CreateApiKeyRequest(spec.Name, spec.Description, spec.Enabled, spec.CustomerId, spec.Tags), cancellationToken);
        return ToApiKey(created);
    }

    /// <summary>
    /// One ImportApiKeys call with <see cref="ApiGatewayKeyFile"/>'s CSV, rolled back on any warning. API Gateway
    /// answers the ids in the file's row order; an answer with another number of ids than rows is refused as a fault.
    /// </summary>
    public async Task<IReadOnlyList<string>> ImportAsync(IReadOnlyList<ApiKeyImport> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0)
        {
            return [];
        }

        var imported = await _client.ImportApiKeysAsync(ApiGatewayKeyFile.Write(keys), [.. keys.Select(k => k.Value)], failOnWarnings: true, cancellationToken);
        var ids = imported.Ids ?? [];
        return ids.Count == keys.Count
            ? ids
            : throw new AwsServiceException($"apigateway ImportApiKeys answered {ids.Count} ids for {keys.Count} keys ({string.Join("; ", imported.Warnings ?? [])}).");
    }

    public async Task<ApiKey?> GetAsync(string keyId, bool includeValue, CancellationToken cancellationToken)
    {
        try
        {
            return ToApiKey(await _client.GetApiKeyAsync(keyId, includeValue, cancellationToken));
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary>API Gateway matches <c>name</c> as a prefix; only exact names are returned.</summary>
    public async Task<IReadOnlyList<ApiKey>> FindByNameAsync(string name, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var keys = await _client.GetApiKeysAsync(new GetApiKeysRequest(Name: name, IncludeValues: includeValue), cancellationToken);
        return [.. keys.Where(k => string.Equals(k.Name, name, StringComparison.Ordinal)).Select(ToApiKey)];
    }

    /// <summary>The filter is applied here as well: not every API Gateway implementation honours <c>customerId</c>.</summary>
    public async Task<IReadOnlyList<ApiKey>> FindByCustomerIdAsync(string customerId, bool includeValue, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(customerId);
        var keys = await _client.GetApiKeysAsync(new GetApiKeysRequest(CustomerId: customerId, IncludeValues: includeValue), cancellationToken);
        return [.. keys.Where(k => string.Equals(k.CustomerId, customerId, StringComparison.Ordinal)).Select(ToApiKey)];
    }

    /// <summary>GetApiKeys with no filter, 500 a page: 20 calls at the account's limit of 10,000 keys.</summary>
    public async Task<int> CountAsync(CancellationToken cancellationToken) =>
        (await _client.GetApiKeysAsync(new GetApiKeysRequest(), cancellationToken)).Count;

    /// <summary>One UpdateApiKey call with a patch operation per given field.</summary>
    public Task UpdateAsync(string keyId, ApiKeyUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        if (update.IsEmpty)
        {
            throw new ArgumentException("The update changes nothing.", nameof(update));
        }

        List<PatchOperation> operations = [];
        if (update.Enabled is { } enabled)
        {
            operations.Add(PatchOperation.Replace("/enabled", enabled ? "true" : "false"));
        }

        if (update.CustomerId is { } customerId)
        {
            ArgumentException.ThrowIfNullOrEmpty(customerId, nameof(update));
            operations.Add(PatchOperation.Replace("/customerId", customerId));
        }

        return _client.UpdateApiKeyAsync(keyId, operations, cancellationToken);
    }

    public async Task<bool> DeleteAsync(string keyId, CancellationToken cancellationToken)
    {
        try
        {
            await _client.DeleteApiKeyAsync(keyId, cancellationToken);
            return true;
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            return false;
        }
    }

    public async Task<bool> AddToUsagePlanAsync(string usagePlanId, string keyId, CancellationToken cancellationToken)
    {
        try
        {
            await _client.CreateUsagePlanKeyAsync(usagePlanId, keyId, cancellationToken);
            return true;
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.Conflict)
        {
            return false;
        }
    }

    public async Task<bool> RemoveFromUsagePlanAsync(string usagePlanId, string keyId, CancellationToken cancellationToken)
    {
        try
        {
            // Revocations mostly meet keys that are not in the plan (a buyer who never got access, a redelivered
            // event), so one read settles them; it also spares moto's DELETE of an absent plan key, which answers
            // 500 instead of API Gateway's 404 and would be retried as a fault.
            await _client.GetUsagePlanKeyAsync(usagePlanId, keyId, cancellationToken);
            await _client.DeleteUsagePlanKeyAsync(usagePlanId, keyId, cancellationToken);
            return true;
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            return false;
        }
    }

    public async Task<IReadOnlyDictionary<string, IReadOnlyList<DailyUsage>>> GetUsageAsync(
        string usagePlanId, DateOnly startDate, DateOnly endDate, string? keyId, CancellationToken cancellationToken)
    {
        var usage = await _client.GetUsageAsync(new GetUsageRequest(usagePlanId, startDate, endDate, keyId, Limit: 500), cancellationToken);
        var start = DateOnly.TryParseExact(usage.StartDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var reported)
            ? reported
            : startDate;
        return usage.Items.ToDictionary(
            item => item.Key,
            item => (IReadOnlyList<DailyUsage>)[.. item.Value.Select((day, index) => ToDailyUsage(start.AddDays(index), day, item.Key))],
            StringComparer.Ordinal);
    }

    private static DailyUsage ToDailyUsage(DateOnly day, IReadOnlyList<long> pair, string keyId) =>
        pair.Count == 2
            ? new DailyUsage(day, pair[0], pair[1])
            : throw new InvalidOperationException($"GetUsage returned {pair.Count} numbers for key {keyId} on {day:yyyy-MM-dd}; expected [used, remaining].");

    private static ApiKey ToApiKey(ApiGatewayApiKey key) =>
        new(
            key.Id,
            key.Name ?? string.Empty,
            key.Enabled,
            string.IsNullOrEmpty(key.CustomerId) ? null : key.CustomerId,
            key.Tags ?? NoTags,
            string.IsNullOrEmpty(key.Value) ? null : new Secret(key.Value));
}
