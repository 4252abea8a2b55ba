namespace Monetization.Core.ApiKeys;

/// <summary>The key minting consumer's settings (<c>KeyMinting</c> section).</summary>
public sealed class KeyMintingOptions
{
    public const string Section = "KeyMinting";

    public const string KeyReserveRange = "KeyMinting:KeyReserve must be from 0 to 9999: the API keys of the account's 10,000 that first keys must leave to everything else.";

    /// <summary>
    /// Of the account's 10,000 API keys, how many first keys leave to everything else (rotations, Marketplace buyers,
    /// other APIs, a second consumer's batch in flight): the consumer stops at 10,000 less this.
    /// </summary>
    public int KeyReserve { get; set; } = 200;
}
