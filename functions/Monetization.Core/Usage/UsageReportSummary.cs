namespace Monetization.Core.Usage;

/// <summary>What one run did, per channel; the host logs it as one JSON line and as metrics.</summary>
/// <param name="Marketplace">Null when nothing is sold on Marketplace.</param>
public sealed record UsageReportSummary(StripeUsageSummary Stripe, MarketplaceUsageSummary? Marketplace)
{
    /// <summary>Sends not accepted on either channel; their claims stay and the next run sends them again.</summary>
    public int Failures => Stripe.Failures + (Marketplace?.Failures ?? 0);

    /// <summary>API keys the account holds in the region (every API's; API Gateway allows 10,000); null when not counted.</summary>
    public int? ApiKeysInAccount { get; init; }

    /// <summary>Free-plan quota e-mails (80%, 100%) sent this run.</summary>
    public int QuotaEmailsSent { get; init; }

    /// <summary>Holders of free keys unused for the idle days told this run that the key is to be deleted.</summary>
    public int UnusedFreeKeysNoticed { get; init; }

    /// <summary>Free plans ended this run because their key stayed unused after the notice.</summary>
    public int UnusedFreeKeysEnded { get; init; }
}

/// <summary>What one run reported to Stripe.</summary>
public sealed record StripeUsageSummary
{
    /// <summary>Keys the subscriber's spend cap stopped this run.</summary>
    public int CapsReached { get; init; }

    /// <summary>Keys a spend cap had stopped that work again this run (a new period, or a cap raised).</summary>
    public int CapsLifted { get; init; }

    /// <summary>E-mails telling a subscriber their cap stopped their key, sent this run.</summary>
    public int CapEmailsSent { get; init; }

    /// <summary>Keys in the Stripe plan with usage today or yesterday.</summary>
    public int KeysWithUsage { get; init; }

    public long UnitsReported { get; init; }

    public int EventsSent { get; init; }

    /// <summary>Claims a crashed or failed run left behind, sent again with their first identifier.</summary>
    public int EventsResent { get; init; }

    public int Requests { get; init; }

    /// <summary>Keys with usage and no billable Stripe subscriber: nothing is billed, the watermark stays.</summary>
    public int KeysSkipped { get; init; }

    /// <summary>Keys a Stripe failure kept this run from reaching; the next run reports them.</summary>
    public int KeysNotReached { get; init; }

    /// <summary>
    /// Units counted after the subscription was canceled, billed as one-off invoice items on the customer (no subscription
    /// would invoice their meter events); included in <see cref="UnitsReported"/>.
    /// </summary>
    public long UnitsInvoiced { get; init; }

    /// <summary>Keys whose access had ended and whose usage is now all billed: they left their usage plan this run.</summary>
    public int KeysSettled { get; init; }

    /// <summary>Keys of subscriptions that ended a retention ago (settled, out of their plan): deleted this run.</summary>
    public int EndedKeysDeleted { get; init; }

    /// <summary>Days another run had claimed first; that run reports them.</summary>
    public int DaysClaimedElsewhere { get; init; }

    /// <summary>Events claimed and not accepted, or settled keys not finished; the next run tries again.</summary>
    public int Failures { get; init; }
}

/// <summary>What one run (or one buyer's flush) metered to AWS Marketplace.</summary>
public sealed record MarketplaceUsageSummary
{
    public int KeysWithUsage { get; init; }

    public long UnitsReported { get; init; }

    public int RecordsSent { get; init; }

    public int Requests { get; init; }

    /// <summary>Buyers with a CustomerIdentifier: API Gateway meters them through the plan's product code.</summary>
    public int KeysMeteredByApiGateway { get; init; }

    public int KeysSkipped { get; init; }

    /// <summary>
    /// Buyers known by account + license whose recorded license ARN fails BatchMeterUsage's pattern (one such record
    /// fails the whole request). Nothing of theirs is claimed: their units wait above the watermark and are metered by
    /// the first run after ResolveCustomer or a license event records an ARN Metering takes.
    /// </summary>
    public int BuyersUnmeterable { get; init; }

    /// <summary>Records Marketplace answered CustomerNotSubscribed for; their units are written off.</summary>
    public int NotSubscribed { get; init; }

    /// <summary>
    /// Units of claims older than Marketplace's six-hour window (left by runs that failed for that long): they can no
    /// longer be sent and may have been accepted, so they are written off rather than risk billing twice.
    /// </summary>
    public long UnitsWrittenOff { get; init; }

    /// <summary>Buyers already metered in this hour: their new units wait for the next hour's record.</summary>
    public int KeysDeferred { get; init; }

    /// <summary>Keys whose access had ended and whose usage is now all metered: they left their usage plan this run.</summary>
    public int KeysSettled { get; init; }

    /// <summary>Keys of subscriptions that ended a retention ago (settled, out of their plan): deleted this run.</summary>
    public int EndedKeysDeleted { get; init; }

    /// <summary>Days another run had claimed first; that run meters them.</summary>
    public int DaysClaimedElsewhere { get; init; }

    /// <summary>Records claimed and not accepted, or settled keys not finished; the next run tries again.</summary>
    public int Failures { get; init; }
}
