using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Core.Mail;

namespace Monetization.Core.Usage;

/// <summary>What one run did with unused free keys.</summary>
public readonly record struct IdleFreeKeyRun(int Noticed, int Ended, int Failures);

/// <summary>
/// Free keys nobody uses do not hold places among the account's 10,000 API keys for ever. Every usage report notes the
/// month on the record of each free key that served something this month (one write a key a month), which moves its
/// next look further off. A free key unused for <see cref="UsageReportingOptions.FreeKeyIdleDays"/> (counted from the
/// end of the last month it served in, or from the start of the free plan) earns its holder an e-mail, noted before it
/// is sent and taken back when the send fails; a key still unused <see cref="UsageReportingOptions.FreeKeyNoticeDays"/>
/// later has its free plan ended as an ended subscription's access is: disabled, settled, out of its plan, then deleted
/// by the same paced deletions, at once rather than after the retention (a free key has no billing to come back to).
/// The holder may start the free plan again once it is gone, with a new key. The records to look at come from the
/// ledger's key-step index (<see cref="Subscriber.IdleCheckAt"/>), so the run reads none of the others.
/// </summary>
public sealed partial class IdleFreeKeys(
    IUsageLedger usage,
    ISubscriberLedger ledger,
    ApiKeyAccess access,
    IEmailSender mail,
    StripeChannelOptions channel,
    UsageReportingOptions options,
    ILogger<IdleFreeKeys> logger)
{
    /// <summary>What the record says of an ended free plan's last event.</summary>
    public const string EndedEvent = "free-key-unused";

    public bool Enabled => channel.OffersFreePlan && options.FreeKeyIdleDays > 0;

    /// <param name="month">Each free key's count this month (<see cref="QuotaAlerts.ReadMonthAsync"/>); null when it could not be read.</param>
    public async Task<IdleFreeKeyRun> RunAsync(IReadOnlyDictionary<string, long>? month, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return default;
        }

        int noticed = 0, ended = 0, failures = 0;
        try
        {
            if (month is not null)
            {
                await NoteUsedAsync(month, now, cancellationToken);
            }
            else
            {
                // Without this month's counts nothing can be called unused: nothing is noticed or ended this run.
                return default;
            }

            var due = await usage.FindSettlingAsync(channel.FreeUsagePlanId, now, cancellationToken);
            foreach (var holder in due.Where(s => s is { FreePlan: true, IdleCheckAt: { } at } && at <= now))
            {
                try
                {
                    switch (await StepAsync(holder, now, cancellationToken))
                    {
                        case Step.Noticed:
                            noticed++;
                            break;
                        case Step.Ended:
                            ended++;
                            break;
                    }
                }
                catch (DependencyUnavailableException e)
                {
                    failures++;
                    LogFailed(logger, holder.Id, e);
                }
            }
        }
        catch (DependencyUnavailableException e)
        {
            failures++;
            LogFailed(logger, channel.FreeUsagePlanId, e);
        }

        return new IdleFreeKeyRun(noticed, ended, failures);
    }

    private enum Step
    {
        None,
        Noticed,
        Ended,
    }

    /// <summary>The holders of this month's used free keys whose records do not say so yet: the month is noted, a notice withdrawn.</summary>
    private async Task NoteUsedAsync(IReadOnlyDictionary<string, long> month, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var monthName = now.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var used = month.Where(c => c.Value > 0).Select(c => c.Key).ToList();
        foreach (var keys in used.Chunk(options.KeysPerChunk))
        {
            var holders = await usage.FindSubscribersByApiKeyAsync(keys, cancellationToken);
            var lagging = holders
                .Where(h => h.Value is { FreePlan: true } holder && holder.FreeUsedMonth != monthName && string.Equals(holder.ApiKeyId, h.Key, StringComparison.Ordinal))
                .Select(h => h.Value)
                .DistinctBy(h => h.Id);
            await Parallel.ForEachAsync(
                lagging,
                new ParallelOptions { MaxDegreeOfParallelism = options.LedgerParallelism, CancellationToken = cancellationToken },
                async (holder, ct) => await ledger.UpdateAsync(
                    holder.Id,
                    current => current is { FreePlan: true } && current.FreeUsedMonth != monthName
                        ? Recheck(current with { FreeUsedMonth = monthName, IdleNoticeAt = null, UpdatedAt = now })
                        : null,
                    new KnownRecord(holder),
                    ct));
        }
    }

    /// <summary>The record with its next look at the moment the key would have gone unused long enough.</summary>
    private Subscriber Recheck(Subscriber record) => record with { IdleCheckAt = record.UnusedSince.AddDays(options.FreeKeyIdleDays) };

    private async Task<Step> StepAsync(Subscriber seen, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (await ledger.GetAsync(seen.Id, cancellationToken) is not { FreePlan: true, IdleCheckAt: { } at } record || at > now)
        {
            return Step.None;
        }

        var unusedUntil = record.UnusedSince.AddDays(options.FreeKeyIdleDays);
        if (now < unusedUntil)
        {
            // It served something since the look was planned (or the plan just started): look again when it could be unused.
            await ledger.UpdateAsync(record.Id, current => current is { FreePlan: true } ? Recheck(current) with { IdleNoticeAt = null, UpdatedAt = now } : null, new KnownRecord(record), cancellationToken);
            return Step.None;
        }

        if (record.IdleNoticeAt is not { } noticedAt)
        {
            return await NoticeAsync(record, now, cancellationToken) ? Step.Noticed : Step.None;
        }

        if (now < noticedAt.AddDays(options.FreeKeyNoticeDays))
        {
            await ledger.UpdateAsync(record.Id, current => current is { FreePlan: true } ? current with { IdleCheckAt = noticedAt.AddDays(options.FreeKeyNoticeDays), UpdatedAt = now } : null, new KnownRecord(record), cancellationToken);
            return Step.None;
        }

        // The key stops first; the record then says the free plan ended, and the settlement does the rest.
        if (record.ApiKeyId is { } keyId)
        {
            await Task.WhenAll(access.DisableAsync(keyId, enabled: null, cancellationToken), access.DisableRetiringAsync(record, cancellationToken));
        }

        var update = await ledger.UpdateAsync(
            record.Id,
            current => current is { FreePlan: true, IdleNoticeAt: not null } && current.FreeUsedMonth == record.FreeUsedMonth
                ? current with
                {
                    FreePlan = false,
                    Subscribed = false,
                    Status = SubscriberStatus.Cancelled,
                    SettlingSince = current.ApiKeyId is null ? null : now,
                    KeyDeleteAt = now,
                    IdleCheckAt = null,
                    IdleNoticeAt = null,
                    LastEvent = EndedEvent,
                    LastEventAt = now,
                    UpdatedAt = now,
                }
                : null,
            new KnownRecord(record),
            cancellationToken);
        if (!update.Written)
        {
            return Step.None;
        }

        LogEnded(logger, record.Id);
        return Step.Ended;
    }

    /// <summary>Noted, then sent; with nobody to tell (no address or account page) the notice period still runs.</summary>
    private async Task<bool> NoticeAsync(Subscriber record, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var endsAt = now.AddDays(options.FreeKeyNoticeDays);
        var noticed = await mail.SendOnceAsync(
            ledger,
            record,
            current => current is { FreePlan: true, IdleNoticeAt: null } ? current with { IdleNoticeAt = now, IdleCheckAt = endsAt, UpdatedAt = now } : null,
            (current, before, noted) => current.IdleNoticeAt == noted.IdleNoticeAt
                ? current with { IdleNoticeAt = before.IdleNoticeAt, IdleCheckAt = before.IdleCheckAt, UpdatedAt = now }
                : null,
            noted => noted.Email is { } email && options.AccountPageUrl is { } account ? Message(email, endsAt, account) : null,
            cancellationToken);
        if (noticed)
        {
            LogNoticed(logger, record.Id);
        }

        return noticed;
    }

    private OutgoingEmail Message(string to, DateTimeOffset endsAt, Uri account)
    {
        var text = string.Create(
            CultureInfo.InvariantCulture,
            $"Your free API key has not made a request for {options.FreeKeyIdleDays} days. Unless it makes one before {endsAt.UtcDateTime:d MMMM yyyy} (UTC), it is deleted then and your free plan ends; you can start it again from your account page, with a new key.");
        return new OutgoingEmail(
            to,
            "Your unused free API key is to be deleted",
            $"""
            {text}

            {account}
            """,
            $"""
            <p>{HtmlEncoder.Default.Encode(text)}</p>
            <p><a href="{HtmlEncoder.Default.Encode(account.ToString())}">Your account</a></p>
            """);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The free key of {SubscriberId} is unused: its holder was told it is to be deleted")]
    private static partial void LogNoticed(ILogger logger, string subscriberId);

    [LoggerMessage(Level = LogLevel.Information, Message = "The free plan of {SubscriberId} ended: its key stayed unused after the notice")]
    private static partial void LogEnded(ILogger logger, string subscriberId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unused free keys of {Subject} wait for the next run")]
    private static partial void LogFailed(ILogger logger, string subject, Exception exception);
}
