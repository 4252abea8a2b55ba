using Microsoft.Extensions.Logging;

namespace Monetization.Core.Accounts;

/// <summary>A session just started: the cookie's value (shown to this browser only) and when it ends.</summary>
public sealed record StartedSession(Secret Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Server-side sessions: the cookie holds a random token and the ledger its hash with the subscriber it signs in. Any
/// Portal instance, before or after a restart, finds the same session, no signing key exists to leak or rotate, and
/// signing out deletes the session, so a copied cookie stops working at once.
/// </summary>
public sealed partial class AccountSessions(IAccountStore store, AccountOptions options, TimeProvider clock, ILogger<AccountSessions> logger)
{
    public async Task<StartedSession> StartAsync(string subscriberId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        var token = AccountTokens.New();
        var expiresAt = clock.GetUtcNow() + options.SessionLifetime;
        await store.SaveSessionAsync(AccountTokens.Hash(token), new AccountSession(subscriberId, expiresAt), cancellationToken);
        LogStarted(logger, subscriberId);
        return new StartedSession(token, expiresAt);
    }

    /// <returns>The subscriber the cookie's session signs in, or null for a missing, malformed, ended or expired one.</returns>
    public async Task<string?> FindAsync(string? cookie, CancellationToken cancellationToken)
    {
        if (!AccountTokens.IsWellFormed(cookie))
        {
            return null;
        }

        var session = await store.FindSessionAsync(AccountTokens.Hash(new Secret(cookie!)), clock.GetUtcNow(), cancellationToken);
        return session?.SubscriberId;
    }

    public async Task EndAsync(string? cookie, CancellationToken cancellationToken)
    {
        if (AccountTokens.IsWellFormed(cookie))
        {
            await store.EndSessionAsync(AccountTokens.Hash(new Secret(cookie!)), cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Signed in subscriber {SubscriberId}")]
    private static partial void LogStarted(ILogger logger, string subscriberId);
}
