using System.Collections.Concurrent;
using Monetization.Core.Accounts;

namespace Monetization.Tests.Accounts;

/// <summary>The account store for tests that do not reach a ledger; the DynamoDB one is proven against moto.</summary>
public sealed class InMemoryAccountStore : IAccountStore
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, PendingSignIn> _links = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, AccountSession> _sessions = new(StringComparer.Ordinal);

    public Task<bool> TryCountAsync(string budget, int limit, DateTimeOffset windowEnds, CancellationToken cancellationToken)
    {
        lock (_counts)
        {
            var used = _counts.GetValueOrDefault(budget);
            if (used >= limit)
            {
                return Task.FromResult(false);
            }

            _counts[budget] = used + 1;
            return Task.FromResult(true);
        }
    }

    public Task SaveSignInAsync(string tokenHash, PendingSignIn link, CancellationToken cancellationToken)
    {
        _links[tokenHash] = link;
        return Task.CompletedTask;
    }

    public Task<PendingSignIn?> FindSignInAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_links.TryGetValue(tokenHash, out var link) && link.ExpiresAt > now ? link : null);

    public Task<PendingSignIn?> ConsumeSignInAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_links.TryRemove(tokenHash, out var link) && link.ExpiresAt > now ? link : null);

    public Task SaveSessionAsync(string sessionHash, AccountSession session, CancellationToken cancellationToken)
    {
        _sessions[sessionHash] = session;
        return Task.CompletedTask;
    }

    public Task<AccountSession?> FindSessionAsync(string sessionHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        Task.FromResult(_sessions.TryGetValue(sessionHash, out var session) && session.ExpiresAt > now ? session : null);

    public Task EndSessionAsync(string sessionHash, CancellationToken cancellationToken)
    {
        _sessions.TryRemove(sessionHash, out _);
        return Task.CompletedTask;
    }
}
