namespace Monetization.Core.Accounts;

/// <summary>Sign-in links, sessions and key rotation.</summary>
public sealed record AccountOptions
{
    /// <summary>How long a sign-in link works after it was sent.</summary>
    public TimeSpan LinkLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Links sent to one address per clock hour; requests beyond it are answered alike and send nothing.</summary>
    public int LinksPerAddressPerHour { get; init; } = 5;

    /// <summary>
    /// Links sent by the whole Portal within one link lifetime: the bound on outstanding links, so a flood of forged
    /// signups costs a bounded number of e-mails.
    /// </summary>
    public int MaxOutstandingLinks { get; init; } = 1000;

    /// <summary>How long a signed-in customer stays signed in.</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromHours(12);

    /// <summary>How long a key replaced by a rotation keeps working beside the new one.</summary>
    public TimeSpan KeyOverlap { get; init; } = TimeSpan.FromHours(24);
}
