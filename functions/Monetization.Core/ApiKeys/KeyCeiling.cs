namespace Monetization.Core.ApiKeys;

/// <summary>
/// Keeps the key minting consumer below API Gateway's 10,000 API keys per account and region
/// (<see cref="ApiKeyAccess.AccountKeyLimit"/>, which cannot be raised), minus a reserve for everything else that makes
/// keys (rotations, Marketplace buyers, the account's other APIs). What API Gateway answers at the limit is not
/// documented, so the consumer never gets there: it counts the account's keys (GetApiKeys, 500 a page) at most every
/// <see cref="RecountAfter"/>, or sooner when the count leaves no room, adds what it imported since, and hands out
/// only the room left. One per process; the template runs at most two consumers, which the reserve covers.
/// </summary>
public sealed class KeyCeiling(KeyMintingOptions options, TimeProvider clock)
{
    public static readonly TimeSpan RecountAfter = TimeSpan.FromMinutes(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private int? _counted;
    private DateTimeOffset _countedAt;
    private int _addedSince;

    /// <summary>The most keys the consumer may hold at once: the account's limit less the reserve.</summary>
    public int Limit => ApiKeyAccess.AccountKeyLimit - options.KeyReserve;

    /// <summary>Takes room for up to <paramref name="wanted"/> new keys; give back what an import did not use with <see cref="Release"/>.</summary>
    /// <param name="count">Counts the account's keys (a call to API Gateway, made only when the count is stale or full).</param>
    /// <returns>How many keys may be made now (0 at the ceiling).</returns>
    public async Task<int> ReserveAsync(int wanted, Func<CancellationToken, Task<int>> count, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(count);
        ArgumentOutOfRangeException.ThrowIfNegative(wanted);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var now = clock.GetUtcNow();
            if (_counted is null || now - _countedAt >= RecountAfter || Room() < wanted)
            {
                _counted = await count(cancellationToken);
                _countedAt = now;
                _addedSince = 0;
            }

            var granted = Math.Clamp(Room(), 0, wanted);
            _addedSince += granted;
            return granted;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Gives back room taken for keys that were not made (a failed import).</summary>
    public void Release(int unused)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(unused);
        _gate.Wait();
        try
        {
            _addedSince = Math.Max(0, _addedSince - unused);
        }
        finally
        {
            _gate.Release();
        }
    }

    private int Room() => Limit - (_counted ?? 0) - _addedSince;
}
