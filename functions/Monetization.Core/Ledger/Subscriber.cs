namespace Monetization.Core.Ledger;

public enum Channel
{
    Stripe,
    Marketplace,
}

public enum SubscriberStatus
{
    /// <summary>Registration or landing has started; access may not exist yet.</summary>
    Pending,

    /// <summary>Paid up: the key is in its usage plan and enabled.</summary>
    Active,

    /// <summary>Billing stopped being paid, or Marketplace reported unsubscribe-pending; the record is kept.</summary>
    Suspended,

    /// <summary>The subscription has ended; no access.</summary>
    Cancelled,

    /// <summary>Marketplace reported subscribe-fail; no access.</summary>
    Failed,

    /// <summary>
    /// This record was another name of the subscriber in <see cref="Subscriber.MergedInto"/> and its state now lives
    /// there; it has no access and no key of its own.
    /// </summary>
    Merged,
}

/// <summary>
/// A subscriber as the ledger remembers it. <see cref="Id"/> is <c>stripe#&lt;SubscriberRef of the normalised email&gt;</c> or
/// <c>mp#&lt;customer key&gt;</c>. <see cref="Version"/> is the optimistic-concurrency counter the ledger checks on
/// every replace; callers never set it by hand beyond copying what they read.
/// </summary>
public sealed record Subscriber
{
    public required string Id { get; init; }

    public required Channel Channel { get; init; }

    public required SubscriberStatus Status { get; init; }

    public string? ApiKeyId { get; init; }

    /// <summary>
    /// The key whose value the subscriber has been shown (once, on the account page). While it differs from
    /// <see cref="ApiKeyId"/> the current key's value is still to be shown.
    /// </summary>
    public string? ShownApiKeyId { get; init; }

    /// <summary>The last characters of the shown key's value, so the account page can name the key without holding it.</summary>
    public string? ApiKeyHint { get; init; }

    /// <summary>
    /// Keys a rotation replaced, oldest first (at most <see cref="MaxRetiredKeys"/>): each works until its
    /// <see cref="RetiredKey.RevokeAt"/> (or until access ends), bills to this subscriber meanwhile, and, once disabled,
    /// stays in the plan until the usage reporter has billed all it served; then it is deleted and leaves this list.
    /// </summary>
    public IReadOnlyList<RetiredKey> RetiredKeys { get; init; } = [];

    /// <summary>
    /// Retired keys deleted this UTC month, so the account page still adds up what they served this month (their
    /// watermarks outlive them); at most <see cref="MaxDeletedKeys"/>, the oldest forgotten first.
    /// </summary>
    public IReadOnlyList<DeletedKey> DeletedKeys { get; init; } = [];

    public string? UsagePlanId { get; init; }

    public string? Email { get; init; }

    public string? FirstName { get; init; }

    public string? LastName { get; init; }

    public string? StripeCustomerId { get; init; }

    public string? StripeSubscriptionId { get; init; }

    public string? MarketplaceCustomerIdentifier { get; init; }

    public string? CustomerAwsAccountId { get; init; }

    public string? ProductCode { get; init; }

    public string? LicenseArn { get; init; }

    /// <summary>The buyer came through the landing page (Marketplace) or finished signup (Stripe).</summary>
    public bool Registered { get; init; }

    /// <summary>The latest lifecycle event grants a subscription.</summary>
    public bool Subscribed { get; init; }

    /// <summary>
    /// A Stripe subscriber on the free plan: <see cref="Subscribed"/> without a Stripe subscription, the key in the free
    /// usage plan (its quota is the limit), no card asked and nothing billed. A paid subscription ends it: the key moves
    /// to the paid plan as access to it starts.
    /// </summary>
    public bool FreePlan { get; init; }

    /// <summary>
    /// The UTC month (<c>yyyy-MM</c>) of the last free-plan quota e-mail, with <see cref="QuotaAlertPercent"/>: one
    /// e-mail per share of the quota (80, 100) per month (<see cref="Usage.QuotaAlerts"/>).
    /// </summary>
    public string? QuotaAlertMonth { get; init; }

    /// <summary>The share of the quota the last quota e-mail told of, in <see cref="QuotaAlertMonth"/>.</summary>
    public int QuotaAlertPercent { get; init; }

    /// <summary>
    /// The most the subscriber wants to be charged in a billing period, in the price's minor units (cents); null for no
    /// cap. When the period's estimated charge reaches it the key stops until the period ends or the cap is raised
    /// (<see cref="Billing.SpendCaps"/>).
    /// </summary>
    public long? SpendCap { get; init; }

    /// <summary>When the spend cap last stopped the key; it stays stopped while that moment lies in the current period (<see cref="CapStopped"/>).</summary>
    public DateTimeOffset? CapReachedAt { get; init; }

    /// <summary>The stop (its <see cref="CapReachedAt"/>) the subscriber was last e-mailed of; behind <see cref="CapReachedAt"/> while that e-mail is still to be sent.</summary>
    public DateTimeOffset? CapMailedAt { get; init; }

    /// <summary>The Stripe subscription's current billing period, as last read from Stripe: what a spend cap counts.</summary>
    public DateTimeOffset? PeriodStart { get; init; }

    /// <summary>When <see cref="PeriodStart"/>'s period ends (exclusive).</summary>
    public DateTimeOffset? PeriodEnd { get; init; }

    /// <summary>
    /// Whether the spend cap holds the key stopped at <paramref name="now"/>: it was reached in the period recorded, and
    /// that period has not ended. A new period, or a cap raised above the charge, ends the stop.
    /// </summary>
    public bool CapStopped(DateTimeOffset now) =>
        CapReachedAt is { } reached && reached >= (PeriodStart ?? DateTimeOffset.MinValue) && (PeriodEnd is not { } end || now < end);

    /// <summary>The e-mail telling of the cap's stop is still to be sent.</summary>
    public bool CapMailDue => CapReachedAt is { } reached && (CapMailedAt is not { } mailed || mailed < reached);

    /// <summary>When the free plan started; its key counts as unused from here until it serves something.</summary>
    public DateTimeOffset? FreeSince { get; init; }

    /// <summary>The last UTC month (<c>yyyy-MM</c>) a usage report saw the free key serve something.</summary>
    public string? FreeUsedMonth { get; init; }

    /// <summary>
    /// When the usage report next looks at whether the free key has gone unused (<see cref="Usage.IdleFreeKeys"/>):
    /// soon after the free plan starts, then when it would have been unused long enough, then when the notice ends.
    /// </summary>
    public DateTimeOffset? IdleCheckAt { get; init; }

    /// <summary>When the subscriber was e-mailed that their unused free key is to be deleted; cleared when it serves again.</summary>
    public DateTimeOffset? IdleNoticeAt { get; init; }

    /// <summary>
    /// The UTC moment from which the free key counts as unused: the start of the month after the last one it served in,
    /// or, when it never served, the start of the free plan.
    /// </summary>
    public DateTimeOffset UnusedSince =>
        FreeUsedMonth is { Length: 7 } month
        && DateTime.TryParseExact(month + "-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var first)
            ? new DateTimeOffset(first, TimeSpan.Zero).AddMonths(1)
            : FreeSince ?? CreatedAt;

    /// <summary>A Stripe subscriber who may start the free plan: without access and never subscribed to a paid plan.</summary>
    /// <remarks>A free plan ended for disuse may start again once its old key is gone.</remarks>
    public bool MayStartFreePlan => this is { Channel: Channel.Stripe, Subscribed: false, FreePlan: false, StripeSubscriptionId: null, EndRequestedAt: null, MergedInto: null, ApiKeyId: null };

    /// <summary>Timestamp of the newest lifecycle event applied; older events are stale.</summary>
    public DateTimeOffset? LastEventAt { get; init; }

    /// <summary>Name of the newest lifecycle event applied (e.g. <c>subscribe-success</c>).</summary>
    public string? LastEvent { get; init; }

    /// <summary>
    /// Name of the newest lifecycle notice that does not decide access (Marketplace <c>unsubscribe-pending</c>,
    /// <c>entitlement-updated</c>). Kept apart from <see cref="LastEvent"/> so a notice never makes an older grant or
    /// revocation look stale.
    /// </summary>
    public string? LastNotice { get; init; }

    /// <summary>Timestamp of <see cref="LastNotice"/>.</summary>
    public DateTimeOffset? LastNoticeAt { get; init; }

    /// <summary>
    /// When the Stripe subscription was first seen <c>past_due</c> in its current spell of arrears; cleared once it is
    /// paid up. Access ends when a later event finds it still past due after the grace period.
    /// </summary>
    public DateTimeOffset? PastDueSince { get; init; }

    /// <summary>
    /// When the subscriber's access ended. The key was disabled then (it serves nothing more) but stays in its usage
    /// plan, where API Gateway keeps reporting what it counted, until the usage reporter, a settle window later, finds
    /// nothing of it left to bill; then the key leaves the plan and this is cleared. Null while access is granted and
    /// once the key has settled.
    /// </summary>
    public DateTimeOffset? SettlingSince { get; init; }

    /// <summary>
    /// When the key of a subscription that ended may be deleted: set once the key settled (everything it served billed,
    /// out of its plan), <c>Usage:EndedKeyRetention</c> later, so a subscriber who comes back within it keeps their key.
    /// It counts only while access stays ended (<see cref="KeyDeletableBy"/>); a grant clears it, and the deletion too.
    /// </summary>
    public DateTimeOffset? KeyDeleteAt { get; init; }

    /// <summary>
    /// When the subscriber's first key was last asked of the key minting queue (<see cref="ApiKeys.IKeyMintQueue"/>):
    /// access has started and the key is being made. Cleared once the key is recorded, or the subscriber no longer awaits
    /// one (<see cref="SubscriberLedgerUpdates"/>), so a later wait asks again.
    /// </summary>
    public DateTimeOffset? KeyRequestedAt { get; init; }

    /// <summary>
    /// When the key minting consumer last found no room for the subscriber's first key among the account's API keys
    /// (<see cref="ApiKeys.KeyCeiling"/>); the account page says so. Cleared once the key is recorded.
    /// </summary>
    public DateTimeOffset? KeyRefusedAt { get; init; }

    /// <summary>
    /// A subscriber whose first key the key minting queue is still making: a Stripe subscriber whose access has
    /// started, or a Marketplace buyer whose subscription has not ended (their key exists before Marketplace confirms
    /// it, and works once it does).
    /// </summary>
    public bool AwaitsKey => this switch
    {
        { Channel: Channel.Stripe } => this is { Subscribed: true, ApiKeyId: null, SettlingSince: null, EndRequestedAt: null, MergedInto: null },
        { Channel: Channel.Marketplace } => this is { ApiKeyId: null, MergedInto: null, Status: not (SubscriberStatus.Cancelled or SubscriberStatus.Failed) },
        _ => false,
    };

    /// <summary>
    /// When we ended the Stripe subscription from our side: access was withdrawn then, and the subscription is canceled
    /// with its final invoice once the key's usage has settled (<see cref="SettlingSince"/>), so that invoice bills all of it.
    /// </summary>
    public DateTimeOffset? EndRequestedAt { get; init; }

    /// <summary>
    /// Set once this record turned out to be another name of that subscriber (a Marketplace buyer first seen by account
    /// + license, later by CustomerIdentifier) and its state was folded into it. Writers redirect there.
    /// </summary>
    public string? MergedInto { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    public long Version { get; init; }

    /// <summary>
    /// A Marketplace buyer with a CustomerIdentifier: API Gateway meters their key itself (the usage plan's product code,
    /// the key's customerId), so the usage reporter records nothing of theirs.
    /// </summary>
    public bool MeteredByApiGateway => Channel == Channel.Marketplace && MarketplaceCustomerIdentifier is not null;

    /// <summary>How many replaced keys may be retiring at once; bounds the keys one subscriber holds to this plus one.</summary>
    public const int MaxRetiredKeys = 2;

    /// <summary>How many deleted keys a record remembers for the month's usage.</summary>
    public const int MaxDeletedKeys = 10;

    /// <summary>
    /// <see cref="DeletedKeys"/> with <paramref name="deleted"/> added at <paramref name="now"/>, keeping only keys
    /// deleted in <paramref name="now"/>'s UTC month and at most <see cref="MaxDeletedKeys"/>.
    /// </summary>
    public IReadOnlyList<DeletedKey> DeletedKeysWith(IEnumerable<string> deleted, DateTimeOffset now)
    {
        var monthStart = new DateTimeOffset(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);
        return [.. DeletedKeys.Where(k => k.DeletedAt >= monthStart)
            .Concat(deleted.Select(id => new DeletedKey(id, now)))
            .TakeLast(MaxDeletedKeys)];
    }

    /// <summary>Whether <paramref name="apiKeyId"/> is this subscriber's key or one of its retiring keys (both bill here).</summary>
    public bool HoldsKey(string apiKeyId) =>
        string.Equals(ApiKeyId, apiKeyId, StringComparison.Ordinal) || RetiredKeys.Any(k => string.Equals(k.Id, apiKeyId, StringComparison.Ordinal));

    /// <summary>
    /// Whether the subscriber's key may be deleted at <paramref name="now"/>: access ended, the key settled (its
    /// <see cref="KeyDeleteAt"/> stamp says when) and the retention after it has passed.
    /// </summary>
    public bool KeyDeletableBy(DateTimeOffset now) =>
        this is { Subscribed: false, SettlingSince: null, MergedInto: null, ApiKeyId: not null, KeyDeleteAt: { } deleteAt } && deleteAt <= now;

    /// <summary>
    /// The earliest moment one of the subscriber's keys has a step to take: it began to settle (access ended,
    /// <see cref="SettlingSince"/>), a retired key's revocation is due, an ended key's deletion is due, or a key the
    /// spend cap stopped has its e-mail to send or its period's end to start again at, or a free key is to be looked
    /// at for disuse. Null when
    /// none of its keys has one ahead.
    /// </summary>
    public DateTimeOffset? KeyStepsFrom =>
        RetiredKeys.Select(k => (DateTimeOffset?)k.RevokeAt)
            .Append(SettlingSince)
            .Append(this is { Subscribed: false, SettlingSince: null, ApiKeyId: not null } ? KeyDeleteAt : null)
            .Append(CapReachedAt is null ? null : CapMailDue ? CapReachedAt : PeriodEnd)
            .Append(FreePlan ? IdleCheckAt : null)
            .Where(t => t is not null)
            .Min();
}

/// <summary>A key a rotation replaced.</summary>
/// <param name="Id">The API key id.</param>
/// <param name="RevokeAt">When it stops working: the end of the overlap, or the moment the customer chose Revoke now.</param>
/// <param name="DisabledAt">When it was disabled (the settle window runs from here); null while it may still work.</param>
public sealed record RetiredKey(string Id, DateTimeOffset RevokeAt, DateTimeOffset? DisabledAt);

/// <summary>A retired key that was deleted once everything it served was billed.</summary>
public sealed record DeletedKey(string Id, DateTimeOffset DeletedAt);
