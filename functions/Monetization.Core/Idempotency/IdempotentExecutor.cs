using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Monetization.Core.Idempotency;

/// <summary>
/// Runs a piece of work at most once per idempotency key while the key's record lives. The caller supplies canonical
/// bytes of the request; the same key with different bytes is refused, so a reused key cannot replay a result that
/// answers another question.
/// </summary>
public sealed partial class IdempotentExecutor
{
    private readonly IIdempotencyStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly IdempotencyOptions _options;
    private readonly ILogger<IdempotentExecutor> _logger;

    public IdempotentExecutor(IIdempotencyStore store, TimeProvider timeProvider, IdempotencyOptions options, ILogger<IdempotentExecutor>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _timeProvider = timeProvider;
        _options = options;
        _logger = logger ?? NullLogger<IdempotentExecutor>.Instance;
    }

    /// <summary>Lowercase hex SHA-256 of the canonical payload bytes.</summary>
    public static string HashPayload(ReadOnlySpan<byte> canonicalPayload) => Convert.ToHexStringLower(SHA256.HashData(canonicalPayload));

    /// <summary>
    /// Runs <paramref name="work"/> unless the key was claimed before. This call's result comes back typed
    /// (<see cref="IdempotencyOutcome.Executed{T}"/>); it is stored as its invariant text, which a replay returns.
    /// </summary>
    public async Task<IdempotencyOutcome> ExecuteAsync<T>(
        string key,
        ReadOnlyMemory<byte> canonicalPayload,
        Func<CancellationToken, Task<T>> work,
        CancellationToken cancellationToken)
        where T : notnull
    {
        ArgumentNullException.ThrowIfNull(work);
        var attempt = await ClaimAsync(key, canonicalPayload, cancellationToken);
        if (attempt.Claim is not { } claim)
        {
            return attempt.Standing!;
        }

        T result;
        try
        {
            result = await work(cancellationToken);
        }
        catch (Exception workFailure)
        {
            await claim.ReleaseAfterFailureAsync(workFailure);
            throw;
        }

        await CompleteAsync(key, claim.PayloadHash, Convert.ToString(result, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty);
        return new IdempotencyOutcome.Executed<T>(result);
    }

    /// <summary>
    /// Takes the key's claim for work the caller runs itself, for flows that need more than run-then-complete (work
    /// that starts alongside the claim, or whose own record makes completing the claim unnecessary).
    /// </summary>
    public async Task<ClaimAttempt> ClaimAsync(string key, ReadOnlyMemory<byte> canonicalPayload, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();

        var payloadHash = HashPayload(canonicalPayload.Span);
        var now = _timeProvider.GetUtcNow();
        var claim = new IdempotencyRecord(
            key,
            payloadHash,
            IdempotencyStatus.InProgress,
            Result: null,
            ExpiresAt: now + _options.RecordTtl,
            InProgressUntil: now + _options.InProgressTimeout);

        var existing = await _store.TryClaimAsync(claim, now, cancellationToken);
        return existing is null
            ? new ClaimAttempt(new IdempotencyClaim(this, key, payloadHash), null)
            : new ClaimAttempt(null, Classify(existing, payloadHash));
    }

    /// <summary>
    /// Stores the result. The work's effects exist whatever happens now: a late cancellation must not keep them from
    /// being recorded, and a store that fails must not take the result from the caller; the claim then goes stale
    /// after the in-progress timeout. The TTL counts from completion so slow work still replays for the whole window.
    /// </summary>
    private async Task CompleteAsync(string key, string payloadHash, string result)
    {
        ArgumentNullException.ThrowIfNull(result);
        try
        {
            await _store.CompleteAsync(key, payloadHash, result, _timeProvider.GetUtcNow() + _options.RecordTtl, CancellationToken.None);
        }
        catch (Exception failure)
        {
            LogCompletionFailed(failure, key);
        }
    }

    /// <summary>Released even when the caller cancelled: a claim left behind would block every retry until it goes stale.</summary>
    internal async Task ReleaseAsync(string key, string payloadHash) => await _store.ReleaseAsync(key, payloadHash, CancellationToken.None);

    private static IdempotencyOutcome Classify(IdempotencyRecord existing, string payloadHash)
    {
        if (!string.Equals(existing.PayloadHash, payloadHash, StringComparison.Ordinal))
        {
            return new IdempotencyOutcome.PayloadMismatch();
        }

        return existing.Status switch
        {
            IdempotencyStatus.Completed => new IdempotencyOutcome.Replayed(existing.Result ?? string.Empty),
            IdempotencyStatus.InProgress => new IdempotencyOutcome.InProgress(existing.InProgressUntil),
            _ => throw new InvalidOperationException($"Unknown idempotency status {existing.Status}."),
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The result under idempotency key {IdempotencyKey} could not be stored; the work's effects stand and its claim goes stale")]
    private partial void LogCompletionFailed(Exception exception, string idempotencyKey);
}

/// <param name="Claim">The claim, when this call took it.</param>
/// <param name="Standing">Otherwise what stands in the way: a replay, a claim in progress, or a payload mismatch.</param>
public sealed record ClaimAttempt(IdempotencyClaim? Claim, IdempotencyOutcome? Standing);

/// <summary>A claim this caller holds: release it when the work failed (flows that claim for themselves keep their own record of success).</summary>
public sealed class IdempotencyClaim
{
    private readonly IdempotentExecutor _executor;

    internal IdempotencyClaim(IdempotentExecutor executor, string key, string payloadHash)
    {
        _executor = executor;
        Key = key;
        PayloadHash = payloadHash;
    }

    public string Key { get; }

    internal string PayloadHash { get; }

    /// <summary>Deletes the claim so the work can be tried again.</summary>
    public Task ReleaseAsync() => _executor.ReleaseAsync(Key, PayloadHash);

    /// <summary>Releases the claim after <paramref name="workFailure"/>; if that fails too, both are thrown together.</summary>
    internal async Task ReleaseAfterFailureAsync(Exception workFailure)
    {
        try
        {
            await ReleaseAsync();
        }
        catch (Exception releaseFailure)
        {
            throw new AggregateException("The work failed and its claim could not be released; it goes stale after the in-progress timeout.", workFailure, releaseFailure);
        }
    }
}
