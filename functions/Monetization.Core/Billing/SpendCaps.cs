using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Mail;
using Monetization.Core.Usage;

namespace Monetization.Core.Billing;

/// <summary>What the subscriber's usage this billing period costs so far, against their cap.</summary>
/// <param name="Spent">The billed requests' charge at the metered price.</param>
/// <param name="Units">The requests billed in the period so far.</param>
/// <param name="PeriodEnd">When the period ends, or null when Stripe has not said what the next one is.</param>
/// <param name="Cap">The subscriber's cap, or null for none.</param>
public sealed record SpendEstimate(Money Spent, long Units, DateTimeOffset PeriodStart, DateTimeOffset? PeriodEnd, Money? Cap)
{
    public bool Reached => Cap is { } cap && Spent.Minor >= cap.Minor;
}

public enum SetCapOutcome
{
    /// <summary>The cap is recorded, and the key works or stops as the period's charge says.</summary>
    Set,

    /// <summary>Only a paying subscriber whose key works, or that the cap stopped, has a charge to cap.</summary>
    NotPaying,
}

/// <summary>What one run of the spend caps did.</summary>
public readonly record struct SpendCapRun(int Reached, int Lifted, int Mailed, int Failures);

/// <summary>
/// A paying subscriber's own monthly spend cap. The charge of the billing period so far is estimated from the ledger:
/// the requests billed on each UTC day from the period's first (whole days, so a day split between two periods counts
/// for the newer one, and the cap errs on the customer's side), at the metered price. When it reaches the cap the key
/// stops, as access ending stops it: disabled, kept in its usage plan, so what it served meanwhile is still billed,
/// once. It works again when the cap is raised above the charge or removed, or when the next period begins.
/// The usage report checks the subscribers whose usage it billed, so a cap is enforced within one report interval;
/// the account page checks at once when a cap is set. The e-mail telling of the stop is noted before it is sent and
/// the note is taken back when the send fails, so it goes once.
/// </summary>
public sealed partial class SpendCaps(
    IUsageLedger usage,
    ISubscriberLedger ledger,
    ApiKeyAccess access,
    IBilling billing,
    IEmailSender mail,
    StripeChannelOptions channel,
    TimeProvider clock,
    ILogger<SpendCaps> logger)
{
    /// <summary>The longest period counted day by day (a yearly price's); longer ones count their last days only.</summary>
    private const int MaxDays = 366;

    /// <summary>A subscriber with a charge to cap: paying through Stripe, their key working or stopped by the cap.</summary>
    public static bool Pays(Subscriber record) =>
        record is { Channel: Channel.Stripe, FreePlan: false, Subscribed: true, Status: SubscriberStatus.Active, SettlingSince: null, EndRequestedAt: null, StripeSubscriptionId: not null, ApiKeyId: not null };

    /// <summary>The period's charge so far, or null for a subscriber who does not pay (<see cref="Pays"/>).</summary>
    public async Task<SpendEstimate?> EstimateAsync(Subscriber record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Pays(record))
        {
            return null;
        }

        var now = clock.GetUtcNow();
        var (start, end) = await PeriodAsync(record, now, cancellationToken);
        var price = await billing.GetPriceAsync(cancellationToken);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var first = DateOnly.FromDateTime(start.UtcDateTime);
        first = first.DayNumber < today.DayNumber - MaxDays + 1 ? today.AddDays(-MaxDays + 1) : first;
        var days = Enumerable.Range(0, Math.Max(0, today.DayNumber - first.DayNumber + 1)).Select(first.AddDays).ToList();
        var keys = record.RetiredKeys.Select(k => k.Id).Prepend(record.ApiKeyId!).Concat(record.DeletedKeys.Select(k => k.Id)).Distinct(StringComparer.Ordinal);
        var billed = await usage.GetWatermarksAsync([.. keys.SelectMany(id => days.Select(day => new UsageDay(id, day)))], cancellationToken);
        var units = billed.Sum(w => w.Reported);
        return new SpendEstimate(
            Money.Of(units, price.UnitAmount, price.Currency),
            units,
            start,
            end,
            record.SpendCap is { } cap ? new Money(cap, price.Currency) : null);
    }

    /// <summary>
    /// Records the subscriber's cap (null removes it) and makes the key follow it at once: stopped when the period's
    /// charge already reaches it, working again when a stop is lifted.
    /// </summary>
    public async Task<SetCapOutcome> SetAsync(string subscriberId, Money? cap, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriberId);
        if (await ledger.GetAsync(subscriberId, cancellationToken) is not { } record || !Pays(record))
        {
            return SetCapOutcome.NotPaying;
        }

        var now = clock.GetUtcNow();
        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is not null && Pays(current) && current.SpendCap != cap?.Minor ? current with { SpendCap = cap?.Minor, UpdatedAt = now } : null,
            new KnownRecord(record),
            cancellationToken);
        if (update.Stored is not { } stored || !Pays(stored))
        {
            return SetCapOutcome.NotPaying;
        }

        await FollowAsync(stored, servedSinceStop: false, cancellationToken);
        return SetCapOutcome.Set;
    }

    /// <summary>
    /// The usage report's turn: the subscribers whose usage it billed (<paramref name="billed"/>), and those the ledger's
    /// key-step index names (a stop's e-mail to send, a stopped period that has ended), each read afresh, follow their
    /// cap; then the stops not yet told of are e-mailed, when the account page is known.
    /// </summary>
    public async Task<SpendCapRun> RunAsync(IEnumerable<Subscriber> billed, Uri? accountPage, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(billed);
        var now = clock.GetUtcNow();
        var served = billed.Where(s => s.SpendCap is not null || s.CapReachedAt is not null).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var due = (await usage.FindSettlingAsync(channel.StripeUsagePlanId, now, cancellationToken)).Where(s => s.CapReachedAt is not null).Select(s => s.Id);
        int reached = 0, lifted = 0, mailed = 0, failures = 0;
        foreach (var id in served.Concat(due).Distinct(StringComparer.Ordinal))
        {
            try
            {
                if (await ledger.GetAsync(id, cancellationToken) is not { } record)
                {
                    continue;
                }

                var (step, stored) = Pays(record) ? await FollowAsync(record, served.Contains(id), cancellationToken) : (CapStep.None, record);
                reached += step == CapStep.Stop ? 1 : 0;
                lifted += step == CapStep.Resume ? 1 : 0;
                if (stored is { CapMailDue: true, Email: not null } && accountPage is not null && await MailAsync(stored, accountPage, now, cancellationToken))
                {
                    mailed++;
                }
            }
            catch (DependencyUnavailableException e)
            {
                failures++;
                LogFailed(logger, id, e);
            }
        }

        return new SpendCapRun(reached, lifted, mailed, failures);
    }

    private enum CapStep
    {
        None,
        Stop,
        Resume,
    }

    /// <summary>
    /// Stops the key when the charge reached the cap and lifts a stop when it no longer has, or its period ended.
    /// A stopped key that served something since (<paramref name="servedSinceStop"/>: a grant raced the stop) is
    /// disabled again. The key is changed before the record, so a failure in between is redone by the next attempt.
    /// </summary>
    private async Task<(CapStep Step, Subscriber Stored)> FollowAsync(Subscriber record, bool servedSinceStop, CancellationToken cancellationToken)
    {
        var estimate = await EstimateAsync(record, cancellationToken) ?? throw new InvalidOperationException("Only a paying subscriber's cap is followed.");
        var now = clock.GetUtcNow();
        var stopped = record.CapStopped(now);
        var keyId = record.ApiKeyId!;
        if (estimate.Reached && (!stopped || servedSinceStop))
        {
            await Task.WhenAll(access.DisableAsync(keyId, enabled: null, cancellationToken), access.DisableRetiringAsync(record, cancellationToken));
            var update = await ledger.UpdateAsync(
                record.Id,
                current => current is not null && Pays(current) && !current.CapStopped(now) ? current with { CapReachedAt = now, UpdatedAt = now } : null,
                new KnownRecord(record),
                cancellationToken);
            if (!stopped)
            {
                LogReached(logger, record.Id);
            }

            return (stopped ? CapStep.None : CapStep.Stop, update.Stored ?? record);
        }

        if (!estimate.Reached && record.CapReachedAt is not null)
        {
            // Keys a rotation was retiring stay stopped: the new key is the one that works.
            await access.GrantAsync(keyId, enabled: null, record.UsagePlanId ?? channel.StripeUsagePlanId, cancellationToken);
            var update = await ledger.UpdateAsync(
                record.Id,
                current => current is { CapReachedAt: not null } ? current with { CapReachedAt = null, CapMailedAt = null, UpdatedAt = now } : null,
                new KnownRecord(record),
                cancellationToken);
            LogLifted(logger, record.Id);
            return (CapStep.Resume, update.Stored ?? record);
        }

        return (CapStep.None, record);
    }

    /// <summary>
    /// The billing period now: the one recorded while it lasts; else Stripe's, read and recorded; else, while Stripe
    /// has yet to start the next one, from the recorded one's end.
    /// </summary>
    private async Task<(DateTimeOffset Start, DateTimeOffset? End)> PeriodAsync(Subscriber record, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (record is { PeriodStart: { } start, PeriodEnd: { } end } && now < end)
        {
            return (start, end);
        }

        if (await billing.GetSubscriptionAsync(record.StripeSubscriptionId!, cancellationToken) is { PeriodStart: { } read, PeriodEnd: { } readEnd } && now < readEnd)
        {
            await ledger.UpdateAsync(
                record.Id,
                current => current is not null && (current.PeriodStart != read || current.PeriodEnd != readEnd) ? current with { PeriodStart = read, PeriodEnd = readEnd, UpdatedAt = now } : null,
                known: null,
                cancellationToken);
            return (read, readEnd);
        }

        return (record.PeriodEnd ?? record.PeriodStart ?? now, null);
    }

    private async Task<bool> MailAsync(Subscriber stopped, Uri accountPage, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var currency = (await billing.GetPriceAsync(cancellationToken)).Currency;
        return await mail.SendOnceAsync(
            ledger,
            stopped,
            current => current is { CapMailDue: true } ? current with { CapMailedAt = current.CapReachedAt, UpdatedAt = now } : null,
            (current, before, noted) => current.CapMailedAt == noted.CapMailedAt ? current with { CapMailedAt = before.CapMailedAt, UpdatedAt = now } : null,
            noted => noted is { Email: { } email, SpendCap: { } cap } ? Message(email, new Money(cap, currency), noted.PeriodEnd, accountPage) : null,
            cancellationToken);
    }

    private static OutgoingEmail Message(string to, Money cap, DateTimeOffset? periodEnd, Uri accountPage)
    {
        var until = periodEnd is { } end
            ? string.Create(CultureInfo.InvariantCulture, $"until {end.UtcDateTime:d MMMM yyyy HH:mm} UTC, when your next billing period begins,")
            : "until your next billing period begins";
        var account = accountPage.ToString();
        var text = $"This billing period's charges for your API requests have reached your spend cap of {cap}, so your API key is paused {until} or until you raise the cap.";
        return new OutgoingEmail(
            to,
            "Your API key is paused: your spend cap is reached",
            $"""
            {text}

            Raise or remove the cap on your account page:

            {account}
            """,
            $"""
            <p>{HtmlEncoder.Default.Encode(text)}</p>
            <p>Raise or remove the cap on <a href="{HtmlEncoder.Default.Encode(account)}">your account page</a>.</p>
            """);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Spend cap reached: the key of {SubscriberId} is paused")]
    private static partial void LogReached(ILogger logger, string subscriberId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Spend cap lifted: the key of {SubscriberId} works again")]
    private static partial void LogLifted(ILogger logger, string subscriberId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The spend cap of {SubscriberId} waits for the next run")]
    private static partial void LogFailed(ILogger logger, string subscriberId, Exception exception);
}
