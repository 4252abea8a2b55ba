namespace Monetization.Core.Accounts;

/// <summary>A sign-in link sent and not used yet. Stored under the hash of its token only, so the store cannot sign anyone in.</summary>
/// <param name="Email">The normalised address the link was sent to: opening it proves the person reads that mailbox.</param>
/// <param name="Plan">The plan the person chose on the pricing page before signing up, if any; acted on once the link is used.</param>
public sealed record PendingSignIn(string Email, string FirstName, string LastName, DateTimeOffset ExpiresAt, PlanChoice Plan = PlanChoice.None);

/// <summary>The plan a person chose on the pricing page, carried by their sign-in link.</summary>
public enum PlanChoice
{
    None,

    /// <summary>The free plan: it starts as soon as the address is proven (<see cref="StartFreePlan"/>).</summary>
    Free,

    /// <summary>Paying: the account page opens on the way to Checkout.</summary>
    Paid,
}

/// <summary>The names a plan choice goes by wherever it is written down: the pricing page's links, the signup, the link's record.</summary>
public static class PlanChoices
{
    /// <returns><c>free</c> or <c>paid</c>; null for no choice.</returns>
    public static string? NameOf(PlanChoice choice) => choice switch
    {
        PlanChoice.Free => "free",
        PlanChoice.Paid => "paid",
        _ => null,
    };

    /// <returns>The choice a name stands for (no name: <see cref="PlanChoice.None"/>); null for a name no plan has.</returns>
    public static PlanChoice? Parse(string? name) => name switch
    {
        null or "" => PlanChoice.None,
        "free" => PlanChoice.Free,
        "paid" => PlanChoice.Paid,
        _ => null,
    };
}

/// <summary>A signed-in customer, stored under the hash of the session cookie's value.</summary>
public sealed record AccountSession(string SubscriberId, DateTimeOffset ExpiresAt);

/// <summary>
/// The ledger's part of accounts: sign-in links, sessions and the counters that limit how many links are sent. Every
/// item expires on its own (a TTL), and readers treat an item past its expiry as gone, because the TTL deletes late.
/// </summary>
public interface IAccountStore
{
    /// <summary>Counts one use of <paramref name="budget"/> unless it already holds <paramref name="limit"/> uses.</summary>
    /// <param name="budget">The counter's name; it names one window (the caller puts the window into it).</param>
    /// <param name="windowEnds">When the counter may be forgotten.</param>
    /// <returns>Whether the use was counted (false: the limit was reached, and nothing changed).</returns>
    Task<bool> TryCountAsync(string budget, int limit, DateTimeOffset windowEnds, CancellationToken cancellationToken);

    Task SaveSignInAsync(string tokenHash, PendingSignIn link, CancellationToken cancellationToken);

    /// <summary>The link if it is still unused and unexpired at <paramref name="now"/>; reading never uses it up.</summary>
    Task<PendingSignIn?> FindSignInAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes the link if it is unexpired at <paramref name="now"/>, in one conditional write: of two concurrent uses one gets it.</summary>
    /// <returns>The link this call used up, or null when it was used, expired or never existed.</returns>
    Task<PendingSignIn?> ConsumeSignInAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken);

    Task SaveSessionAsync(string sessionHash, AccountSession session, CancellationToken cancellationToken);

    /// <summary>The session if it exists and is unexpired at <paramref name="now"/>.</summary>
    Task<AccountSession?> FindSessionAsync(string sessionHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Deletes the session; a session already gone counts as ended.</summary>
    Task EndSessionAsync(string sessionHash, CancellationToken cancellationToken);
}
