namespace Monetization.Core.ApiKeys;

/// <summary>The key minting consumer's settings (<c>KeyMinting</c> section).</summary>
public sealed class KeyMintingOptions
{
    public const string Section = "KeyMinting";

    /// <summary>
    /// At most two imports a second per consumer: the template runs at most two consumers, so key minting takes at most
    /// 4 of the 10 control-plane calls a second API Gateway allows the whole account, and every other caller keeps the rest.
    /// </summary>
    public const double MaxImportsPerSecond = 2;

    public const string ImportsPerSecondRange = "KeyMinting:ImportsPerSecond must be above 0 and at most 2 (API Gateway allows the account 10 control-plane calls a second in all).";

    /// <summary>ImportApiKeys calls a second, each creating up to a batch's keys (<see cref="MintKeys.MaxKeysPerImport"/>).</summary>
    public double ImportsPerSecond { get; set; } = 1;

    public const string KeyReserveRange = "KeyMinting:KeyReserve must be from 0 to 9999: the API keys of the account's 10,000 that first keys must leave to everything else.";

    /// <summary>
    /// Of the account's 10,000 API keys, how many first keys leave to everything else (rotations, Marketplace buyers,
    /// other APIs, a second consumer's batch in flight): the consumer stops at 10,000 less this.
    /// </summary>
    public int KeyReserve { get; set; } = 200;
}
