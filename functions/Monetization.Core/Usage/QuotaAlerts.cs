using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Mail;

namespace Monetization.Core.Usage;

/// <summary>
/// The free plan's quota e-mails, with every usage report: the month's count of each free-plan key
/// (<see cref="ReadMonthAsync"/>) against the plan's monthly quota. The holder of a key that has reached 80% or
/// 100% of it gets one e-mail per share per month (a key that passed both since the last run gets the 100% one only).
/// Each is noted on the record before it is sent, so two runs never send it twice; a send that fails takes the note
/// back and the next run sends it. Quota e-mails are not billing: a failure is logged and the run goes on.
/// </summary>
public sealed partial class QuotaAlerts(
    IApiKeys apiKeys,
    IUsageLedger usage,
    ISubscriberLedger ledger,
    IEmailSender mail,
    StripeChannelOptions channel,
    UsageReportingOptions options,
    ILogger<QuotaAlerts> logger)
{
    /// <summary>Whether the free plan, its quota and the account page are all known; otherwise no run reads anything for it.</summary>
    public bool Enabled => channel.OffersFreePlan && options.FreePlanMonthlyQuota > 0 && options.AccountPageUrl is not null;

    /// <summary>
    /// The free plan's month so far, each key's count: one GetUsage from the first of the UTC month, paged by keys,
    /// shared by the quota e-mails and <see cref="IdleFreeKeys"/>. Null when the free plan is not offered, or when API
    /// Gateway did not answer (neither is billing: the run goes on).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, long>?> ReadMonthAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!channel.OffersFreePlan)
        {
            return null;
        }

        var today = DateOnly.FromDateTime(now.UtcDateTime);
        try
        {
            var counts = await apiKeys.GetUsageAsync(channel.FreeUsagePlanId, new DateOnly(today.Year, today.Month, 1), today, keyId: null, cancellationToken);
            return counts.ToDictionary(c => c.Key, c => c.Value.Sum(d => d.Used), StringComparer.Ordinal);
        }
        catch (DependencyUnavailableException e)
        {
            LogFailed(logger, e.Message);
            return null;
        }
    }

    /// <param name="month">Each free key's count this month (<see cref="ReadMonthAsync"/>).</param>
    /// <returns>The e-mails sent.</returns>
    public async Task<int> RunAsync(IReadOnlyDictionary<string, long>? month, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!Enabled || month is null)
        {
            return 0;
        }

        var monthName = now.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        try
        {
            var reached = month
                .Select(c => (KeyId: c.Key, Used: c.Value, Percent: ShareReached(c.Value)))
                .Where(c => c.Percent > 0)
                .ToList();
            if (reached.Count == 0)
            {
                return 0;
            }

            var holders = await usage.FindSubscribersByApiKeyAsync([.. reached.Select(r => r.KeyId)], cancellationToken);
            var sent = 0;
            foreach (var (keyId, used, percent) in reached)
            {
                if (holders.TryGetValue(keyId, out var holder)
                    && holder is { FreePlan: true, Email: not null }
                    && string.Equals(holder.ApiKeyId, keyId, StringComparison.Ordinal)
                    && await AlertAsync(holder, monthName, percent, used, now, cancellationToken))
                {
                    sent++;
                }
            }

            return sent;
        }
        catch (DependencyUnavailableException e)
        {
            LogFailed(logger, e.Message);
            return 0;
        }
    }

    /// <summary>The highest share of the quota <paramref name="used"/> has reached that an e-mail tells of: 100, 80 or none.</summary>
    private int ShareReached(long used) =>
        used >= options.FreePlanMonthlyQuota ? 100 : used * 5 >= options.FreePlanMonthlyQuota * 4 ? 80 : 0;

    private async Task<bool> AlertAsync(Subscriber holder, string month, int percent, long used, DateTimeOffset now, CancellationToken cancellationToken)
    {
        try
        {
            var sent = await mail.SendOnceAsync(
                ledger,
                holder,
                current => current is not { FreePlan: true } || (current.QuotaAlertMonth == month && current.QuotaAlertPercent >= percent)
                    ? null
                    : current with { QuotaAlertMonth = month, QuotaAlertPercent = percent, UpdatedAt = now },
                (current, before, noted) => current.QuotaAlertMonth == noted.QuotaAlertMonth && current.QuotaAlertPercent == noted.QuotaAlertPercent
                    ? current with { QuotaAlertMonth = before.QuotaAlertMonth, QuotaAlertPercent = before.QuotaAlertPercent, UpdatedAt = now }
                    : null,
                noted => noted.Email is { } email ? Message(email, percent, used) : null,
                cancellationToken);
            if (sent)
            {
                LogSent(logger, holder.Id, percent);
            }

            return sent;
        }
        catch (DependencyUnavailableException e)
        {
            // One holder's e-mail waits for the next run; the others' go now. SES refusing for a reason of the
            // deployment (the sender, say) is not caught: the run fails, so the operator hears of it.
            LogFailed(logger, e.Message);
            return false;
        }
    }

    private OutgoingEmail Message(string to, int percent, long used)
    {
        var quota = options.FreePlanMonthlyQuota.ToString("N0", CultureInfo.InvariantCulture);
        var count = Math.Min(used, options.FreePlanMonthlyQuota).ToString("N0", CultureInfo.InvariantCulture);
        var account = options.AccountPageUrl!.ToString();
        var (subject, state) = percent >= 100
            ? ("You have used this month's free requests", "The API answers 429 to your key until the month ends (UTC).")
            : ("You have used 80% of this month's free requests", "At the limit the API answers 429 to your key until the month ends (UTC).");
        return new OutgoingEmail(
            to,
            subject,
            $"""
            Your API key has made {count} of the {quota} requests the free plan allows this month. {state}

            Subscribe on your account page to keep calling it without the limit:

            {account}
            """,
            $"""
            <p>Your API key has made {count} of the {quota} requests the free plan allows this month. {HtmlEncoder.Default.Encode(state)}</p>
            <p>Subscribe on your account page to keep calling it without the limit: <a href="{HtmlEncoder.Default.Encode(account)}">your account</a></p>
            """);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Quota e-mail ({Percent}%) sent to {SubscriberId}")]
    private static partial void LogSent(ILogger logger, string subscriberId, int percent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Free-plan quota e-mails wait for the next run: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
