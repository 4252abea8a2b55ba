using System.Globalization;
using System.Text.Encodings.Web;
using Microsoft.Extensions.Logging;
using Monetization.Core.Mail;
using Monetization.Core.Ledger;
using Monetization.Core.Registration;

namespace Monetization.Core.Accounts;

/// <param name="SignInUrl">The Portal's sign-in page; the link is this URL with the token in its <c>token</c> query parameter.</param>
/// <param name="Plan">The pricing page's choice as the client sent it: <c>free</c>, <c>paid</c>, or nothing.</param>
public sealed record SignInLinkRequest(string? Email, string? FirstName, string? LastName, Uri SignInUrl, string? Plan = null);

public abstract record SignInLinkOutcome
{
    private SignInLinkOutcome()
    {
    }

    /// <summary>
    /// The one answer to a valid request, whatever the address's state: new, signed up, paying or ended, and also when
    /// the address had its links for this hour (then nothing is sent). Nothing but the e-mail tells them apart.
    /// </summary>
    public sealed record Sent : SignInLinkOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : SignInLinkOutcome;

    /// <summary>The Portal has as many links outstanding as it allows: nothing was sent.</summary>
    public sealed record Busy(TimeSpan RetryAfter) : SignInLinkOutcome;
}

/// <summary>
/// The first step of signing up and of signing in again: a person names an address and is sent a single-use link that
/// proves they read its mailbox. Nothing that costs the seller exists before the link is used: no API key, no Stripe
/// customer, no subscriber record. Limits: <see cref="AccountOptions.LinksPerAddressPerHour"/> per address (the
/// Portal limits each client address per minute before this runs) and <see cref="AccountOptions.MaxOutstandingLinks"/>
/// in all, so a flood of made-up addresses sends a bounded number of e-mails.
/// </summary>
public sealed partial class RequestSignIn(IAccountStore store, IEmailSender mail, AccountOptions options, TimeProvider clock, ILogger<RequestSignIn> logger)
{
    public async Task<SignInLinkOutcome> RequestAsync(SignInLinkRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Email.TryParse(request.Email, out var email, out var emailError);
        PersonName.TryParse(request.FirstName, "first name", out var firstName, out var firstNameError);
        PersonName.TryParse(request.LastName, "last name", out var lastName, out var lastNameError);
        AddError(errors, "email", emailError);
        AddError(errors, "firstname", firstNameError);
        AddError(errors, "lastname", lastNameError);
        var plan = PlanChoices.Parse(request.Plan);
        AddError(errors, "plan", plan is null ? "Choose a plan on the pricing page: free or paid." : null);
        if (email is null || firstName is null || lastName is null || plan is null)
        {
            return new SignInLinkOutcome.Invalid(errors);
        }

        var now = clock.GetUtcNow();
        var address = SubscriberRef.Hash(email.Normalized);
        var hour = Window(now, TimeSpan.FromHours(1));
        if (!await store.TryCountAsync($"signin-address#{address}#{hour.Index}", options.LinksPerAddressPerHour, hour.Ends, cancellationToken))
        {
            LogAddressLimited(logger, address);
            return new SignInLinkOutcome.Sent();
        }

        var lifetime = Window(now, options.LinkLifetime);
        if (!await store.TryCountAsync($"signin-all#{lifetime.Index}", options.MaxOutstandingLinks, lifetime.Ends + options.LinkLifetime, cancellationToken))
        {
            LogBusy(logger, options.MaxOutstandingLinks);
            return new SignInLinkOutcome.Busy(lifetime.Ends - now);
        }

        var token = AccountTokens.New();
        var expiresAt = now + options.LinkLifetime;
        await store.SaveSignInAsync(AccountTokens.Hash(token), new PendingSignIn(email.Normalized, firstName.Value, lastName.Value, expiresAt, plan.Value), cancellationToken);
        var link = new UriBuilder(request.SignInUrl) { Query = $"token={token.Reveal()}" }.Uri;
        var messageId = await mail.SendAsync(Message(email.Normalized, link, options.LinkLifetime), cancellationToken);
        LogSent(logger, address, messageId);
        return new SignInLinkOutcome.Sent();
    }

    private static OutgoingEmail Message(string to, Uri link, TimeSpan lifetime)
    {
        var minutes = ((int)Math.Ceiling(lifetime.TotalMinutes)).ToString(CultureInfo.InvariantCulture);
        var href = HtmlEncoder.Default.Encode(link.ToString());
        return new OutgoingEmail(
            to,
            "Your sign-in link",
            $"""
            Open this link to sign in and manage your API access:

            {link}

            The link works once, for {minutes} minutes. If you did not ask for it, ignore this e-mail: nothing happens without it.
            """,
            $"""
            <p>Open this link to sign in and manage your API access:</p>
            <p><a href="{href}">Sign in</a></p>
            <p>The link works once, for {minutes} minutes. If you did not ask for it, ignore this e-mail: nothing happens without it.</p>
            """);
    }

    /// <summary>Fixed windows counted from the epoch, so every instance agrees on which window a moment is in.</summary>
    private static (long Index, DateTimeOffset Ends) Window(DateTimeOffset now, TimeSpan length)
    {
        var index = now.ToUnixTimeMilliseconds() / (long)length.TotalMilliseconds;
        return (index, DateTimeOffset.FromUnixTimeMilliseconds((index + 1) * (long)length.TotalMilliseconds));
    }

    private static void AddError(Dictionary<string, string[]> errors, string field, string? error)
    {
        if (error is not null)
        {
            errors[field] = [error];
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sent a sign-in link for address {AddressRef} (message {MessageId})")]
    private static partial void LogSent(ILogger logger, string addressRef, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Address {AddressRef} had its sign-in links for this hour; nothing sent")]
    private static partial void LogAddressLimited(ILogger logger, string addressRef);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Limit} sign-in links are outstanding, the most allowed; nothing sent")]
    private static partial void LogBusy(ILogger logger, int limit);
}
