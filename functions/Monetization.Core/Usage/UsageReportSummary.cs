namespace Monetization.Core.Usage;

/// <summary>What one run did; the host logs it as one JSON line and as metrics.</summary>
public sealed record UsageReportSummary
{
    /// <summary>Keys in the Stripe plan with usage today or yesterday.</summary>
    public int StripeKeysWithUsage { get; init; }

    public long StripeUnitsReported { get; init; }

    public int StripeEventsSent { get; init; }

    /// <summary>Claims a crashed or failed run left behind, sent again with their first identifier.</summary>
    public int StripeEventsResent { get; init; }

    public int StripeRequests { get; init; }

    /// <summary>Keys with usage and no active Stripe subscriber: nothing is billed, the watermark stays.</summary>
    public int StripeKeysSkipped { get; init; }

    /// <summary>Keys a Stripe failure kept this run from reaching; the next run reports them.</summary>
    public int StripeKeysNotReached { get; init; }

    /// <summary>
    /// Units counted after the subscription was canceled, billed as one-off invoice items on the customer (no subscription
    /// would invoice their meter events); included in <see cref="StripeUnitsReported"/>.
    /// </summary>
    public long StripeUnitsInvoiced { get; init; }

    /// <summary>Keys whose access had ended and whose usage is now all billed: they left their usage plan this run.</summary>
    public int KeysSettled { get; init; }

    public int MarketplaceKeysWithUsage { get; init; }

    public long MarketplaceUnitsReported { get; init; }

    public int MarketplaceRecordsSent { get; init; }

    public int MarketplaceRequests { get; init; }

    /// <summary>Buyers with a CustomerIdentifier: API Gateway meters them through the plan's product code.</summary>
    public int MarketplaceKeysMeteredByApiGateway { get; init; }

    public int MarketplaceKeysSkipped { get; init; }

    /// <summary>
    /// Buyers known by account + license whose recorded license ARN fails BatchMeterUsage's pattern (one such record
    /// fails the whole request). Nothing of theirs is claimed: their units wait above the watermark and are metered by
    /// the first run after ResolveCustomer or a license event records an ARN Metering takes.
    /// </summary>
    public int MarketplaceBuyersUnmeterable { get; init; }

    /// <summary>Records Marketplace answered CustomerNotSubscribed for; their units are written off.</summary>
    public int MarketplaceNotSubscribed { get; init; }

    /// <summary>
    /// Units of claims older than Marketplace's six-hour window (left by runs that failed for that long): they can no
    /// longer be sent and may have been accepted, so they are written off rather than risk billing twice.
    /// </summary>
    public long MarketplaceUnitsWrittenOff { get; init; }

    /// <summary>Buyers already metered in this hour: their new units wait for the next hour's record.</summary>
    public int MarketplaceKeysDeferred { get; init; }

    /// <summary>Days another run had claimed first; that run reports them.</summary>
    public int DaysClaimedElsewhere { get; init; }

    /// <summary>Events or records claimed and not accepted; their claims stay and the next run sends them again.</summary>
    public int Failures { get; init; }

    /// <summary>Two parts of one run (the channels, the chunks of keys) added up.</summary>
    public static UsageReportSummary operator +(UsageReportSummary left, UsageReportSummary right)
    {
        ArgumentNullException.ThrowIfNull(left);
        ArgumentNullException.ThrowIfNull(right);
        return new UsageReportSummary
        {
            StripeKeysWithUsage = left.StripeKeysWithUsage + right.StripeKeysWithUsage,
            StripeUnitsReported = left.StripeUnitsReported + right.StripeUnitsReported,
            StripeEventsSent = left.StripeEventsSent + right.StripeEventsSent,
            StripeEventsResent = left.StripeEventsResent + right.StripeEventsResent,
            StripeRequests = left.StripeRequests + right.StripeRequests,
            StripeKeysSkipped = left.StripeKeysSkipped + right.StripeKeysSkipped,
            StripeKeysNotReached = left.StripeKeysNotReached + right.StripeKeysNotReached,
            StripeUnitsInvoiced = left.StripeUnitsInvoiced + right.StripeUnitsInvoiced,
            KeysSettled = left.KeysSettled + right.KeysSettled,
            MarketplaceKeysWithUsage = left.MarketplaceKeysWithUsage + right.MarketplaceKeysWithUsage,
            MarketplaceUnitsReported = left.MarketplaceUnitsReported + right.MarketplaceUnitsReported,
            MarketplaceRecordsSent = left.MarketplaceRecordsSent + right.MarketplaceRecordsSent,
            MarketplaceRequests = left.MarketplaceRequests + right.MarketplaceRequests,
            MarketplaceKeysMeteredByApiGateway = left.MarketplaceKeysMeteredByApiGateway + right.MarketplaceKeysMeteredByApiGateway,
            MarketplaceKeysSkipped = left.MarketplaceKeysSkipped + right.MarketplaceKeysSkipped,
            MarketplaceBuyersUnmeterable = left.MarketplaceBuyersUnmeterable + right.MarketplaceBuyersUnmeterable,
            MarketplaceNotSubscribed = left.MarketplaceNotSubscribed + right.MarketplaceNotSubscribed,
            MarketplaceUnitsWrittenOff = left.MarketplaceUnitsWrittenOff + right.MarketplaceUnitsWrittenOff,
            MarketplaceKeysDeferred = left.MarketplaceKeysDeferred + right.MarketplaceKeysDeferred,
            DaysClaimedElsewhere = left.DaysClaimedElsewhere + right.DaysClaimedElsewhere,
            Failures = left.Failures + right.Failures,
        };
    }
}
