using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Core.Usage;

namespace Monetization.Tests.Marketplace;

/// <summary>Thrown by a fake when a test asks for a crash at a given call.</summary>
public sealed class InjectedFaultException(string operation) : Exception("injected fault in " + operation);

/// <summary>
/// Decides whether a fake call crashes, either before it takes effect or after (the effect happened but the caller
/// never hears of it, like a lost response).
/// </summary>
public class Faults
{
    public static readonly Faults None = new();

    public virtual bool FailBefore(string operation) => false;

    public virtual bool FailAfter(string operation) => false;

    internal void Before(string operation)
    {
        if (FailBefore(operation))
        {
            throw new InjectedFaultException(operation);
        }
    }

    internal void After(string operation)
    {
        if (FailAfter(operation))
        {
            throw new InjectedFaultException(operation);
        }
    }
}

/// <summary>Crashes a random share of calls, reproducibly from a seed.</summary>
public sealed class RandomFaults(int seed, double probability) : Faults
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();

    public bool Enabled { get; set; } = true;

    public override bool FailBefore(string operation) => Roll();

    public override bool FailAfter(string operation) => Roll();

    private bool Roll()
    {
        lock (_gate)
        {
            return Enabled && _random.NextDouble() < probability;
        }
    }
}

/// <summary>Crashes exactly the calls a test names, once each.</summary>
public sealed class ScriptedFaults : Faults
{
    private readonly HashSet<string> _before = new(StringComparer.Ordinal);
    private readonly HashSet<string> _after = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public ScriptedFaults CrashBefore(string operation)
    {
        lock (_gate)
        {
            _before.Add(operation);
        }

        return this;
    }

    public ScriptedFaults CrashAfter(string operation)
    {
        lock (_gate)
        {
            _after.Add(operation);
        }

        return this;
    }

    public override bool FailBefore(string operation)
    {
        lock (_gate)
        {
            return _before.Remove(operation);
        }
    }

    public override bool FailAfter(string operation)
    {
        lock (_gate)
        {
            return _after.Remove(operation);
        }
    }
}

/// <summary>The ledger's contract, exactly: create only if absent, replace only at the expected version, an alias never moves.</summary>
public sealed class InMemorySubscriberLedger(Faults? faults = null) : ISubscriberLedger
{
    private readonly Faults _faults = faults ?? Faults.None;
    private readonly Dictionary<string, Subscriber> _records = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public int Writes { get; private set; }

    public IReadOnlyList<Subscriber> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _records.Values];
            }
        }
    }

    public async Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("ledger.get");
        lock (_gate)
        {
            return _records.GetValueOrDefault(subscriberId);
        }
    }

    public async Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("ledger.create");
        bool created;
        lock (_gate)
        {
            created = !_records.ContainsKey(subscriber.Id);
            if (created)
            {
                Store(subscriber with { Version = 1 });
            }
        }

        _faults.After("ledger.create");
        return created;
    }

    public async Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("ledger.replace");
        bool replaced;
        lock (_gate)
        {
            replaced = _records.TryGetValue(subscriber.Id, out var stored) && stored.Version == expectedVersion;
            if (replaced)
            {
                Store(subscriber with { Version = expectedVersion + 1 });
            }
        }

        _faults.After("ledger.replace");
        return replaced;
    }

    public async Task<string?> FindAliasAsync(string alias, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("ledger.findAlias");
        lock (_gate)
        {
            return _aliases.GetValueOrDefault(alias);
        }
    }

    public async Task<string> AddAliasAsync(string alias, string subscriberId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("ledger.addAlias");
        string owner;
        lock (_gate)
        {
            owner = _aliases.TryAdd(alias, subscriberId) ? subscriberId : _aliases[alias];
        }

        _faults.After("ledger.addAlias");
        return owner;
    }

    public Task<string?> FindStripeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
        FindAliasAsync($"STRIPESUB#{subscriptionId}", cancellationToken);

    public Task<string> AddStripeSubscriptionAsync(string subscriptionId, string subscriberId, CancellationToken cancellationToken) =>
        AddAliasAsync($"STRIPESUB#{subscriptionId}", subscriberId, cancellationToken);

    /// <summary>Test set-up: writes a record as if an earlier run had.</summary>
    public void Seed(Subscriber subscriber)
    {
        lock (_gate)
        {
            Store(subscriber);
        }
    }

    private void Store(Subscriber subscriber)
    {
        Writes++;
        _records[subscriber.Id] = subscriber;
    }
}

/// <summary>
/// API keys and usage-plan membership as API Gateway keeps them, including its quirks that matter here: the name
/// filter matches prefixes, deleting a key drops it from its plans, and changing a missing key is an error.
/// </summary>
public sealed class InMemoryApiKeys(Faults? faults = null) : IApiKeys
{
    private readonly Faults _faults = faults ?? Faults.None;
    private readonly Dictionary<string, ApiKey> _keys = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _plans = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _nextId;

    public int Creates { get; private set; }

    public IReadOnlyList<ApiKey> Keys
    {
        get
        {
            lock (_gate)
            {
                return [.. _keys.Values];
            }
        }
    }

    public IReadOnlyList<ApiKey> KeysNamed(string name) => [.. Keys.Where(k => k.Name == name)];

    public bool InPlan(string usagePlanId, string keyId)
    {
        lock (_gate)
        {
            return _plans.TryGetValue(usagePlanId, out var members) && members.Contains(keyId);
        }
    }

    public bool HasAccess(string usagePlanId, string keyId)
    {
        lock (_gate)
        {
            return _keys.TryGetValue(keyId, out var key) && key.Enabled
                && _plans.TryGetValue(usagePlanId, out var members) && members.Contains(keyId);
        }
    }

    public async Task<ApiKey> CreateAsync(ApiKeySpec spec, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.create");
        ApiKey key;
        lock (_gate)
        {
            Creates++;
            var id = "key" + (++_nextId).ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
            key = new ApiKey(id, spec.Name, spec.Enabled, spec.CustomerId, spec.Tags, new Secret("value-of-" + id));
            _keys[id] = key;
        }

        _faults.After("keys.create");
        return key;
    }

    /// <summary>As API Gateway documents it: a value already held overwrites that key; all rows or none.</summary>
    public async Task<IReadOnlyList<string>> ImportAsync(IReadOnlyList<ApiKeyImport> keys, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.import");
        var ids = new List<string>();
        lock (_gate)
        {
            foreach (var import in keys)
            {
                var id = _keys.Values.FirstOrDefault(k => k.Value == import.Value)?.Id ?? "key" + (++_nextId).ToString("D4", System.Globalization.CultureInfo.InvariantCulture);
                Creates++;
                _keys[id] = new ApiKey(id, import.Name, import.Enabled, null, new Dictionary<string, string>(), import.Value);
                foreach (var plan in import.UsagePlanIds)
                {
                    if (!_plans.TryGetValue(plan, out var members))
                    {
                        _plans[plan] = members = new HashSet<string>(StringComparer.Ordinal);
                    }

                    members.Add(id);
                }

                ids.Add(id);
            }
        }

        _faults.After("keys.import");
        return ids;
    }

    public async Task<ApiKey?> GetAsync(string keyId, bool includeValue, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.get");
        lock (_gate)
        {
            return _keys.TryGetValue(keyId, out var key) ? Shape(key, includeValue) : null;
        }
    }

    public async Task<IReadOnlyList<ApiKey>> FindByNameAsync(string name, bool includeValue, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.findByName");
        lock (_gate)
        {
            return [.. _keys.Values.Where(k => k.Name.StartsWith(name, StringComparison.Ordinal)).Select(k => Shape(k, includeValue))];
        }
    }

    public async Task<int> CountAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.count");
        lock (_gate)
        {
            return _keys.Count;
        }
    }

    public async Task<IReadOnlyList<ApiKey>> FindByCustomerIdAsync(string customerId, bool includeValue, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.findByCustomerId");
        lock (_gate)
        {
            return [.. _keys.Values.Where(k => k.CustomerId == customerId).Select(k => Shape(k, includeValue))];
        }
    }

    public int Updates { get; private set; }

    public async Task UpdateAsync(string keyId, ApiKeyUpdate update, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(update);
        await Task.Yield();
        _faults.Before("keys.update");
        lock (_gate)
        {
            var key = Existing(keyId);
            _keys[keyId] = key with { Enabled = update.Enabled ?? key.Enabled, CustomerId = update.CustomerId ?? key.CustomerId };
            Updates++;
        }

        _faults.After("keys.update");
    }

    public async Task<bool> DeleteAsync(string keyId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.delete");
        bool deleted;
        lock (_gate)
        {
            deleted = _keys.Remove(keyId);
            foreach (var members in _plans.Values)
            {
                members.Remove(keyId);
            }
        }

        _faults.After("keys.delete");
        return deleted;
    }

    public async Task<bool> AddToUsagePlanAsync(string usagePlanId, string keyId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.addToPlan");
        bool added;
        lock (_gate)
        {
            Existing(keyId);
            if (!_plans.TryGetValue(usagePlanId, out var members))
            {
                _plans[usagePlanId] = members = new HashSet<string>(StringComparer.Ordinal);
            }

            added = members.Add(keyId);
        }

        _faults.After("keys.addToPlan");
        return added;
    }

    public async Task<bool> RemoveFromUsagePlanAsync(string usagePlanId, string keyId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        _faults.Before("keys.removeFromPlan");
        bool removed;
        lock (_gate)
        {
            removed = _plans.TryGetValue(usagePlanId, out var members) && members.Remove(keyId);
        }

        _faults.After("keys.removeFromPlan");
        return removed;
    }

    public Task<IReadOnlyDictionary<string, IReadOnlyList<DailyUsage>>> GetUsageAsync(
        string usagePlanId, DateOnly startDate, DateOnly endDate, string? keyId, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, IReadOnlyList<DailyUsage>>>(new Dictionary<string, IReadOnlyList<DailyUsage>>());

    /// <summary>Test set-up: a key changed behind our back (drift).</summary>
    public void Tamper(string usagePlanId, string keyId, bool enabled, bool inPlan)
    {
        lock (_gate)
        {
            _keys[keyId] = Existing(keyId) with { Enabled = enabled };
            if (!_plans.TryGetValue(usagePlanId, out var members))
            {
                _plans[usagePlanId] = members = new HashSet<string>(StringComparer.Ordinal);
            }

            if (inPlan)
            {
                members.Add(keyId);
            }
            else
            {
                members.Remove(keyId);
            }
        }
    }

    private static ApiKey Shape(ApiKey key, bool includeValue) => includeValue ? key : key with { Value = null };

    private ApiKey Existing(string keyId) =>
        _keys.TryGetValue(keyId, out var key) ? key : throw new KeyNotFoundException("NotFoundException: API key " + keyId);
}

/// <summary>ResolveCustomer answers by token.</summary>
public sealed class FakeMarketplaceMetering : IMarketplaceMetering
{
    private readonly Dictionary<string, ResolveCustomerOutcome> _outcomes = new(StringComparer.Ordinal);

    public FakeMarketplaceMetering With(string token, ResolveCustomerOutcome outcome)
    {
        _outcomes[token] = outcome;
        return this;
    }

    public async Task<ResolveCustomerOutcome> ResolveCustomerAsync(Secret registrationToken, CancellationToken cancellationToken)
    {
        await Task.Yield();
        return _outcomes.TryGetValue(registrationToken.Reveal(), out var outcome) ? outcome : new ResolveCustomerOutcome.InvalidToken();
    }

    public Task<IReadOnlyList<MeteringRecordResult>> BatchMeterUsageAsync(
        string productCode, IReadOnlyList<MeteringRecord> records, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Metering is not part of these tests.");
}

/// <summary>For worlds that meter nothing.</summary>
public sealed class UnusedUsageLedger : IUsageLedger
{
    public Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Usage is not part of these tests.");

    public Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Usage is not part of these tests.");

    public Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Usage is not part of these tests.");

    public Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Usage is not part of these tests.");

    public Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Usage is not part of these tests.");

    public Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) =>
        throw new NotSupportedException("Usage is not part of these tests.");
}

public sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
