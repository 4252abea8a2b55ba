using Monetization.Core.Ledger;

namespace Monetization.Core.Mail;

/// <summary>
/// An e-mail a subscriber gets once for something their record tells of (a share of the quota reached, a spend cap
/// reached, a key unused): noted on the record in a conditional write before it is sent, so two runs never both send
/// it; when the send fails the note is taken back, so a later run sends it. Taking it back is best effort: a ledger that
/// fails then too leaves the note, and that one e-mail is not sent. The send's failure is the caller's to hear of.
/// </summary>
public static class OnceEmails
{
    /// <param name="known">The record as the caller read it (saves the first read).</param>
    /// <param name="note">The record with the e-mail noted, or null when it is not due (any more).</param>
    /// <param name="takeBack">
    /// Given the record now, the one the note was made on, and the noted one: the record without the note, or null when
    /// the note is no longer this one's.
    /// </param>
    /// <param name="compose">The message for the record as noted, or null when there is nobody to send it to (the note stands).</param>
    /// <returns>Whether this call noted the e-mail (and sent it, when there was one to send).</returns>
    /// <exception cref="DependencyUnavailableException">The ledger, or the mail provider, failed; a failed send's note was taken back.</exception>
    public static async Task<bool> SendOnceAsync(
        this IEmailSender mail,
        ISubscriberLedger ledger,
        Subscriber known,
        Func<Subscriber, Subscriber?> note,
        Func<Subscriber, Subscriber, Subscriber, Subscriber?> takeBack,
        Func<Subscriber, OutgoingEmail?> compose,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mail);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(note);
        ArgumentNullException.ThrowIfNull(takeBack);
        ArgumentNullException.ThrowIfNull(compose);
        Subscriber? before = null;
        var noted = await ledger.UpdateAsync(
            known.Id,
            current =>
            {
                before = current;
                return current is null ? null : note(current);
            },
            new KnownRecord(known),
            cancellationToken);
        if (!noted.Written || noted.Stored is not { } stored)
        {
            return false;
        }

        if (compose(stored) is not { } message)
        {
            return true;
        }

        try
        {
            await mail.SendAsync(message, cancellationToken);
        }
        catch
        {
            try
            {
                await ledger.UpdateAsync(known.Id, current => current is null ? null : takeBack(current, before!, stored), known: null, CancellationToken.None);
            }
            catch (DependencyUnavailableException)
            {
                // The send's own failure is the one heard of.
            }

            throw;
        }

        return true;
    }
}
