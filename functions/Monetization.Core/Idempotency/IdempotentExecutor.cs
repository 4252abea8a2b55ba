using System.Security.Cryptography;

namespace Monetization.Core.Idempotency;

/// <summary>
/// Runs a piece of work at most once per idempotency key while the key's record lives. The caller supplies canonical
/// bytes of the request; the same key with different bytes is refused, so a reused key cannot replay a result that
/// answers another question.
/// </summary>
public sealed class IdempotentExecutor
{
    private readonly IIdempotencyStore _store;
    private readonly TimeProvider _timeProvider;
    private readonly IdempotencyOptions _options;

    public IdempotentExecutor(IIdempotencyStore store, TimeProvider timeProvider, IdempotencyOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _timeProvider = timeProvider;
        _options = options;
    }

    /// <summary>Lowercase hex SHA-256 of the canonical payload bytes.</summary>
    public static string HashPayload(ReadOnlySpan<byte> canonicalPayload) => Convert.ToHexStringLower(SHA256.HashData(canonicalPayload));

    public async Task<IdempotencyOutcome> ExecuteAsync(
        string key,
        ReadOnlyMemory<byte> canonicalPayload,
        Func<CancellationToken, Task<string>> work,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(work);
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
        if (existing is not null)
        {
            return Classify(existing, payloadHash);
        }

        string result;
        try
        {
            result = await work(cancellationToken);
        }
        catch (Exception workFailure)
        {
            // Released even when the caller cancelled: a claim left behind would block every retry until it goes stale.
            try
            {
                await _store.ReleaseAsync(key, payloadHash, CancellationToken.None);
            }
            catch (Exception releaseFailure)
            {
                throw new AggregateException("The work failed and its claim could not be released; it goes stale after the in-progress timeout.", workFailure, releaseFailure);
            }

            throw;
        }

        // The TTL counts from completion so a slow piece of work still replays for the whole window. The work's effects
        // exist now whatever the caller wants, so a late cancellation must not keep them from being recorded.
        var expiresAt = _timeProvider.GetUtcNow() + _options.RecordTtl;
        await _store.CompleteAsync(key, payloadHash, result, expiresAt, CancellationToken.None);
        return new IdempotencyOutcome.Executed(result);
    }

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
}
