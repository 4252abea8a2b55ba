using Monetization.Core.Ledger;
using Monetization.Core.Usage;

namespace Monetization.Tests.Usage;

/// <summary>
/// The usage ledger's rules (watermarks move forward only by conditional claim and commit) in memory, for tests of
/// the reporter's own batching where hundreds of DynamoDB round trips would only add time. The DynamoDB ledger is
/// tested against moto in tests/Monetization.Tests/Ledger. Times are kept in whole seconds, as that ledger keeps them.
/// </summary>
internal sealed class InMemoryUsageLedger : IUsageLedger
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Subscriber> _byApiKey = new(StringComparer.Ordinal);
    private readonly Dictionary<UsageDay, UsageWatermark> _watermarks = [];

    public void Add(Subscriber subscriber)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        lock (_lock)
        {
            _byApiKey.Add(subscriber.ApiKeyId ?? throw new ArgumentException("The subscriber holds no API key.", nameof(subscriber)), subscriber);
        }
    }

    public Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyDictionary<string, Subscriber> found = apiKeyIds
                .Where(_byApiKey.ContainsKey)
                .Distinct(StringComparer.Ordinal)
                .ToDictionary(id => id, id => _byApiKey[id], StringComparer.Ordinal);
            return Task.FromResult(found);
        }
    }

    public Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<Subscriber> settling = [.. _byApiKey.Values.Where(s => s.UsagePlanId == usagePlanId && s.KeyStepsFrom <= by)];
            return Task.FromResult(settling);
        }
    }

    public Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyList<UsageWatermark> watermarks = [.. days.Select(Read)];
            return Task.FromResult(watermarks);
        }
    }

    public Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) => Update(day, claim, current =>
        current.Pending is null && current.Reported == claim.From ? current with { Pending = Seconds(claim) } : null);

    public Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) => Update(day, claim, current =>
        current.Pending == Seconds(claim) ? current with { Reported = claim.To, Pending = null, LastReportedAt = Seconds(claim).Timestamp } : null);

    public Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken) => Update(day, claim, current =>
        current.Pending == Seconds(claim) ? current with { Pending = null } : null);

    private Task<bool> Update(UsageDay day, UsageClaim claim, Func<UsageWatermark, UsageWatermark?> decide)
    {
        ArgumentNullException.ThrowIfNull(day);
        ArgumentNullException.ThrowIfNull(claim);
        lock (_lock)
        {
            if (decide(Read(day)) is not { } next)
            {
                return Task.FromResult(false);
            }

            _watermarks[day] = next;
            return Task.FromResult(true);
        }
    }

    private UsageWatermark Read(UsageDay day) => _watermarks.TryGetValue(day, out var watermark) ? watermark : new UsageWatermark(day, 0, null, null);

    private static UsageClaim Seconds(UsageClaim claim) => claim with { Timestamp = DateTimeOffset.FromUnixTimeSeconds(claim.Timestamp.ToUnixTimeSeconds()) };
}
