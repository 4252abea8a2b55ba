using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <param name="Subscriber">The ledger record access was converged to, with its stored version.</param>
/// <param name="ApiKeyId">The buyer's one API key.</param>
public sealed record ConvergedAccess(Subscriber Subscriber, string ApiKeyId)
{
    public bool HasAccess => Subscriber.Subscribed;
}

/// <summary>
/// Makes API Gateway match the ledger for one Marketplace buyer: exactly one API key, linked to the buyer, in the
/// Marketplace usage plan and enabled exactly when the ledger says subscribed. The landing and the event flow both
/// come through here, so there is one way a key is found or created.
/// </summary>
/// <remarks>
/// Convergence always works from the ledger's current record, never from an event, and ends by reading the ledger
/// again: when the record moved while we were calling API Gateway (a concurrent landing or event), the round is
/// repeated from the newer record. Whoever finishes last therefore applied the newest record, so concurrent
/// convergers cannot leave a stale grant or revocation behind.
/// Keys are created disabled and outside the plan and only get access after the ledger names them, so a key that
/// lost a creation race never carries access; it is deleted by whoever sees it (same deterministic name, not the
/// recorded id).
/// </remarks>
public sealed partial class MarketplaceAccess(
    ISubscriberLedger ledger,
    IApiKeys apiKeys,
    MarketplaceOptions options,
    TimeProvider timeProvider,
    ILogger<MarketplaceAccess> logger)
{
    /// <summary>Bounds retries on ledger contention; beyond it the caller fails and the delivery is retried.</summary>
    public const int MaxAttempts = 10;

    public async Task<ConvergedAccess> ConvergeAsync(MarketplaceCustomer customer, Subscriber subscriber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(customer);
        ArgumentNullException.ThrowIfNull(subscriber);
        var current = subscriber;
        for (var round = 0; round < MaxAttempts; round++)
        {
            var (recorded, key) = await EnsureKeyAsync(customer, current, cancellationToken);
            await ApplyAccessAsync(recorded, key, cancellationToken);
            var latest = await ledger.GetAsync(recorded.Id, cancellationToken)
                ?? throw new InvalidOperationException($"Subscriber {recorded.Id} disappeared from the ledger while converging.");
            if (latest.Version == recorded.Version)
            {
                return new ConvergedAccess(recorded, key.Id);
            }

            current = latest;
        }

        throw new InvalidOperationException($"Subscriber {subscriber.Id} kept changing; access was not converged after {MaxAttempts} rounds.");
    }

    private async Task<(Subscriber Recorded, ApiKey Key)> EnsureKeyAsync(
        MarketplaceCustomer customer, Subscriber subscriber, CancellationToken cancellationToken)
    {
        var current = subscriber;
        ApiKey? key = null;
        for (var attempt = 0; attempt < MaxAttempts && key is null; attempt++)
        {
            if (current.ApiKeyId is { } recordedId)
            {
                key = await apiKeys.GetAsync(recordedId, includeValue: false, cancellationToken);
                if (key is not null)
                {
                    break;
                }

                LogRecordedKeyMissing(current.Id, recordedId);
            }

            var candidate = await FindExistingAsync(customer, cancellationToken) ?? await CreateAsync(customer, cancellationToken);
            (current, key) = await RecordAsync(customer, current, candidate, cancellationToken);
        }

        if (key is null)
        {
            throw new InvalidOperationException($"No API key could be recorded for subscriber {subscriber.Id}.");
        }

        await DeleteStrayKeysAsync(customer, key.Id, cancellationToken);
        if (customer.ApiKeyCustomerId is { } customerId && !string.Equals(key.CustomerId, customerId, StringComparison.Ordinal))
        {
            await apiKeys.SetCustomerIdAsync(key.Id, customerId, cancellationToken);
            key = key with { CustomerId = customerId };
        }

        return (current, key);
    }

    private async Task<ApiKey?> FindExistingAsync(MarketplaceCustomer customer, CancellationToken cancellationToken)
    {
        // API Gateway's name filter matches prefixes, so only exact names count; the lowest id wins so every caller
        // adopts the same key.
        var byName = await apiKeys.FindByNameAsync(customer.ApiKeyName, includeValue: false, cancellationToken);
        var named = byName
            .Where(k => string.Equals(k.Name, customer.ApiKeyName, StringComparison.Ordinal))
            .OrderBy(k => k.Id, StringComparer.Ordinal)
            .FirstOrDefault();
        if (named is not null || customer.ApiKeyCustomerId is null)
        {
            return named;
        }

        var byCustomer = await apiKeys.FindByCustomerIdAsync(customer.ApiKeyCustomerId, includeValue: false, cancellationToken);
        return byCustomer
            .Where(k => string.Equals(k.CustomerId, customer.ApiKeyCustomerId, StringComparison.Ordinal))
            .OrderBy(k => k.Id, StringComparer.Ordinal)
            .FirstOrDefault();
    }

    private async Task<ApiKey> CreateAsync(MarketplaceCustomer customer, CancellationToken cancellationToken)
    {
        var spec = new ApiKeySpec(
            customer.ApiKeyName,
            "AWS Marketplace buyer " + customer.Key,
            Enabled: false,
            customer.ApiKeyCustomerId,
            new Dictionary<string, string>(StringComparer.Ordinal) { ["channel"] = "marketplace" });
        var key = await apiKeys.CreateAsync(spec, cancellationToken);
        LogKeyCreated(customer.SubscriberId, key.Id);
        return key;
    }

    /// <summary>Names <paramref name="candidate"/> in the ledger unless another key got there first, then adopts that one.</summary>
    private async Task<(Subscriber Recorded, ApiKey? Key)> RecordAsync(
        MarketplaceCustomer customer, Subscriber subscriber, ApiKey candidate, CancellationToken cancellationToken)
    {
        var current = subscriber;
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            if (string.Equals(current.ApiKeyId, candidate.Id, StringComparison.Ordinal))
            {
                return (current, candidate);
            }

            var next = current with
            {
                ApiKeyId = candidate.Id,
                UsagePlanId = options.UsagePlanId,
                UpdatedAt = timeProvider.GetUtcNow(),
            };
            if (await ledger.TryReplaceAsync(next, current.Version, cancellationToken))
            {
                return (next with { Version = current.Version + 1 }, candidate);
            }

            current = await ledger.GetAsync(current.Id, cancellationToken)
                ?? throw new InvalidOperationException($"Subscriber {current.Id} disappeared from the ledger while recording its key.");
            if (current.ApiKeyId is { } winnerId && !string.Equals(winnerId, candidate.Id, StringComparison.Ordinal))
            {
                var winner = await apiKeys.GetAsync(winnerId, includeValue: false, cancellationToken);
                if (winner is not null)
                {
                    await DeleteIfStrayAsync(customer, candidate, winnerId, cancellationToken);
                    return (current, winner);
                }
            }
        }

        return (current, null);
    }

    private async Task DeleteStrayKeysAsync(MarketplaceCustomer customer, string keepKeyId, CancellationToken cancellationToken)
    {
        var named = await apiKeys.FindByNameAsync(customer.ApiKeyName, includeValue: false, cancellationToken);
        foreach (var key in named)
        {
            await DeleteIfStrayAsync(customer, key, keepKeyId, cancellationToken);
        }
    }

    private async Task DeleteIfStrayAsync(MarketplaceCustomer customer, ApiKey key, string keepKeyId, CancellationToken cancellationToken)
    {
        if (string.Equals(key.Name, customer.ApiKeyName, StringComparison.Ordinal)
            && !string.Equals(key.Id, keepKeyId, StringComparison.Ordinal)
            && await apiKeys.DeleteAsync(key.Id, cancellationToken))
        {
            LogStrayKeyDeleted(customer.SubscriberId, key.Id, keepKeyId);
        }
    }

    private async Task ApplyAccessAsync(Subscriber subscriber, ApiKey key, CancellationToken cancellationToken)
    {
        // Grant: plan first, then enable. Revoke: disable first, then leave the plan. Either way the key is never
        // usable before the last step of a grant, and stops being usable at the first step of a revocation.
        if (subscriber.Subscribed)
        {
            var added = await apiKeys.AddToUsagePlanAsync(options.UsagePlanId, key.Id, cancellationToken);
            if (!key.Enabled)
            {
                await apiKeys.SetEnabledAsync(key.Id, true, cancellationToken);
            }

            if (added || !key.Enabled)
            {
                LogAccessGranted(subscriber.Id, key.Id);
            }
        }
        else
        {
            if (key.Enabled)
            {
                await apiKeys.SetEnabledAsync(key.Id, false, cancellationToken);
            }

            var removed = await apiKeys.RemoveFromUsagePlanAsync(options.UsagePlanId, key.Id, cancellationToken);
            if (removed || key.Enabled)
            {
                LogAccessRevoked(subscriber.Id, key.Id);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created API key {ApiKeyId} for {SubscriberId}")]
    private partial void LogKeyCreated(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recorded API key {ApiKeyId} of {SubscriberId} no longer exists; finding or creating another")]
    private partial void LogRecordedKeyMissing(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted stray API key {ApiKeyId} of {SubscriberId}; the buyer's key is {KeptApiKeyId}")]
    private partial void LogStrayKeyDeleted(string subscriberId, string apiKeyId, string keptApiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Granted access to {SubscriberId} with API key {ApiKeyId}")]
    private partial void LogAccessGranted(string subscriberId, string apiKeyId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revoked access of {SubscriberId} with API key {ApiKeyId}")]
    private partial void LogAccessRevoked(string subscriberId, string apiKeyId);
}
