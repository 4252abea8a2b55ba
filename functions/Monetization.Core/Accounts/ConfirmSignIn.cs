using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;
using Monetization.Core.Registration;

namespace Monetization.Core.Accounts;

public abstract record SignInOutcome
{
    private SignInOutcome()
    {
    }

    /// <param name="Plan">The plan the person chose before signing up, for the Portal to start or lead to.</param>
    public sealed record SignedIn(string SubscriberId, StartedSession Session, PlanChoice Plan) : SignInOutcome;

    /// <summary>The link was used already, expired, or never existed; the three look alike.</summary>
    public sealed record Unusable : SignInOutcome;
}

/// <summary>
/// Uses a sign-in link: the person proved they read the address's mailbox. The link is used up in one conditional
/// delete, so it works once, and only when the person confirms by POST (a mail scanner that opens the link uses
/// nothing). The first use for an address creates its subscriber record, which holds only the address and names: the
/// subscription, the Stripe customer and the API key come later, from the account page.
/// </summary>
public sealed partial class ConfirmSignIn(
    IAccountStore store, ISubscriberLedger ledger, AccountSessions sessions, StripeChannelOptions channel, TimeProvider clock, ILogger<ConfirmSignIn> logger)
{
    /// <summary>Whether the link can still be used (the confirm page asks only then); reading uses nothing up.</summary>
    public async Task<bool> IsUsableAsync(string? token, CancellationToken cancellationToken) =>
        AccountTokens.IsWellFormed(token)
        && await store.FindSignInAsync(AccountTokens.Hash(new Secret(token!)), clock.GetUtcNow(), cancellationToken) is not null;

    public async Task<SignInOutcome> ConfirmAsync(string? token, CancellationToken cancellationToken)
    {
        if (!AccountTokens.IsWellFormed(token))
        {
            return new SignInOutcome.Unusable();
        }

        var now = clock.GetUtcNow();
        var link = await store.ConsumeSignInAsync(AccountTokens.Hash(new Secret(token!)), now, cancellationToken);
        if (link is null || !Email.TryParse(link.Email, out var email, out _))
        {
            return new SignInOutcome.Unusable();
        }

        var subscriberId = StripeSubscribers.IdOf(email);

        // Records are never deleted: one the create refused is the address's own, from an earlier sign-in.
        var created = await ledger.TryCreateAsync(
            new Subscriber
            {
                Id = subscriberId,
                Channel = Channel.Stripe,
                Status = SubscriberStatus.Pending,
                Email = email.Normalized,
                FirstName = link.FirstName,
                LastName = link.LastName,
                UsagePlanId = channel.StripeUsagePlanId,
                Registered = true,
                CreatedAt = now,
                UpdatedAt = now,
            },
            cancellationToken);
        if (created)
        {
            LogVerified(logger, subscriberId);
        }

        return new SignInOutcome.SignedIn(subscriberId, await sessions.StartAsync(subscriberId, cancellationToken), link.Plan);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Address of subscriber {SubscriberId} verified; record created")]
    private static partial void LogVerified(ILogger logger, string subscriberId);
}
