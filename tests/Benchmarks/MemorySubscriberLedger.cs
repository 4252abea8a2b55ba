using System.Collections.Concurrent;
using Monetization.Core.Ledger;

namespace Monetization.Benchmarks;

/// <summary>
/// Subscriber records in memory with the DynamoDB adapter's conditions (create if absent, replace at the version read,
/// pointers that never move), for floods moto cannot carry: moto copies the whole table for every TransactWriteItems,
/// which the ledger uses whenever a key is recorded, so its time grows with the table as DynamoDB's does not.
/// </summary>
public sealed class MemorySubscriberLedger : ISubscriberLedger
{
    private readonly ConcurrentDictionary<string, Subscriber> _records = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _pointers = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public Task<Subscriber?> GetAsync(string subscriberId, CancellationToken cancellationToken) =>
        Task.FromResult(_records.GetValueOrDefault(subscriberId));

    public Task<bool> TryCreateAsync(Subscriber subscriber, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        return Task.FromResult(_records.TryAdd(subscriber.Id, subscriber with { Version = 1 }));
    }

    public Task<bool> TryReplaceAsync(Subscriber subscriber, long expectedVersion, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_gate)
        {
            if (!_records.TryGetValue(subscriber.Id, out var stored) || stored.Version != expectedVersion)
            {
                return Task.FromResult(false);
            }

            _records[subscriber.Id] = subscriber with { Version = expectedVersion + 1 };
            return Task.FromResult(true);
        }
    }

    public Task<string?> FindAliasAsync(string alias, CancellationToken cancellationToken) => Task.FromResult(_pointers.GetValueOrDefault("ALIAS#" + alias));

    public Task<string> AddAliasAsync(string alias, string subscriberId, CancellationToken cancellationToken) =>
        Task.FromResult(_pointers.GetOrAdd("ALIAS#" + alias, subscriberId));

    public Task<string?> FindStripeSubscriptionAsync(string subscriptionId, CancellationToken cancellationToken) =>
        Task.FromResult(_pointers.GetValueOrDefault("STRIPESUB#" + subscriptionId));

    public Task<string> AddStripeSubscriptionAsync(string subscriptionId, string subscriberId, CancellationToken cancellationToken) =>
        Task.FromResult(_pointers.GetOrAdd("STRIPESUB#" + subscriptionId, subscriberId));
}
