using Monetization.Core.Ledger;

namespace Monetization.Core.Usage;

/// <summary>One API key's count on one UTC day: the unit the watermarks are kept in.</summary>
public sealed record UsageDay(string ApiKeyId, DateOnly Day);

/// <summary>
/// A report that was claimed before it was sent: the units <see cref="From"/> (exclusive) to <see cref="To"/>
/// (inclusive) of the day, stamped <see cref="Timestamp"/>. A claim left behind by a crash is sent again exactly as
/// it was, so the provider's dedupe (same identifier, same record) recognises it.
/// </summary>
public sealed record UsageClaim(long From, long To, DateTimeOffset Timestamp)
{
    public long Units => To - From;
}

/// <summary>How far a key's day has been reported, and the claim in flight if any.</summary>
public sealed record UsageWatermark(UsageDay Day, long Reported, UsageClaim? Pending, DateTimeOffset? LastReportedAt);

/// <summary>
/// The usage side of the ledger. Watermarks only move forward and only by conditional writes: a claim succeeds only
/// from the watermark the caller read with nothing in flight, a commit only for the claim that is in flight. A
/// <c>false</c> answer means another run got there first; the caller leaves that day to it.
/// </summary>
public interface IUsageLedger
{
    /// <summary>
    /// The subscribers holding these API keys now, as their key or a retiring one (<see cref="Subscriber.HoldsKey"/>);
    /// keys nobody holds are absent from the answer.
    /// </summary>
    Task<IReadOnlyDictionary<string, Subscriber>> FindSubscribersByApiKeyAsync(IReadOnlyCollection<string> apiKeyIds, CancellationToken cancellationToken);

    /// <summary>
    /// The subscribers of <paramref name="usagePlanId"/> with a key step (settling, retiring, deletion) from
    /// <paramref name="by"/> or earlier (<see cref="Subscriber.KeyStepsFrom"/>). Read from an index, so it may lag a
    /// write by a moment: a key that began settling just now is found by a later run.
    /// </summary>
    Task<IReadOnlyList<Subscriber>> FindSettlingAsync(string usagePlanId, DateTimeOffset by, CancellationToken cancellationToken);

    /// <summary>One watermark per day asked for; a day never reported comes back at 0 with nothing pending.</summary>
    Task<IReadOnlyList<UsageWatermark>> GetWatermarksAsync(IReadOnlyCollection<UsageDay> days, CancellationToken cancellationToken);

    /// <summary>Records <paramref name="claim"/> as in flight if the day stands at <paramref name="claim"/>.From with nothing pending.</summary>
    Task<bool> TryClaimAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken);

    /// <summary>Moves the watermark to <paramref name="claim"/>.To if that claim is the one in flight.</summary>
    Task<bool> TryCommitAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken);

    /// <summary>Drops <paramref name="claim"/> without moving the watermark (the provider refused it for good).</summary>
    Task<bool> TryReleaseAsync(UsageDay day, UsageClaim claim, CancellationToken cancellationToken);
}
