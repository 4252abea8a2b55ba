namespace Monetization.Core.Usage;

/// <summary>What the usage reporter reports where; the host binds and validates it.</summary>
public sealed class UsageReportingOptions
{
    /// <summary>The usage plan listed on Marketplace; empty when nothing is sold there.</summary>
    public string? MarketplaceUsagePlanId { get; set; }

    /// <summary>The product Marketplace buyers are metered on; required with <see cref="MarketplaceUsagePlanId"/>.</summary>
    public string? MarketplaceProductCode { get; set; }

    /// <summary>
    /// The free plan's monthly quota (its usage plan's, from the same template parameter), against which its keys' use
    /// is e-mailed at 80% and 100% (<see cref="QuotaAlerts"/>); 0 sends none.
    /// </summary>
    public long FreePlanMonthlyQuota { get; set; }

    /// <summary>The account page the quota e-mails send subscribers to; unset, none are sent.</summary>
    public Uri? AccountPageUrl { get; set; }

    /// <summary>
    /// How many days a free key may go without a request before its holder is told it is to be deleted
    /// (<see cref="IdleFreeKeys"/>); 0 keeps unused free keys for ever.
    /// </summary>
    public int FreeKeyIdleDays { get; set; } = 90;

    /// <summary>How many days after that e-mail a free key still unused is deleted and its free plan ended.</summary>
    public int FreeKeyNoticeDays { get; set; } = 14;

    /// <summary>The Marketplace dimension API requests are metered as.</summary>
    public string MarketplaceDimension { get; set; } = "requests";

    /// <summary>
    /// How long a key whose access ended stays in its usage plan, disabled, before it may leave: long enough for GetUsage
    /// to show every request the key served (its counts lag, and a disabled key takes a moment to stop working). The
    /// key leaves at the first report after the window that finds nothing of it left to bill.
    /// </summary>
    public TimeSpan SettleWindow { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long the key of a subscription that ended is kept once it settled, disabled and out of its plan, so a
    /// subscriber who comes back within it keeps their key; then a run deletes it, which frees its place among the
    /// account's 10,000 keys.
    /// </summary>
    public TimeSpan EndedKeyRetention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The most ended keys one run deletes per plan; the rest wait for the next run.</summary>
    public int EndedKeysPerRun { get; set; } = 100;

    /// <summary>Ledger writes in flight at once.</summary>
    public int LedgerParallelism { get; set; } = 32;

    /// <summary>Keys looked up, claimed and reported together; bounds the run's memory.</summary>
    public int KeysPerChunk { get; set; } = 5000;

    /// <summary>How often records Marketplace left unprocessed are sent again in one run.</summary>
    public int UnprocessedRetries { get; set; } = 3;
}
