using Monetization.Benchmarks;
using Monetization.Emulators;

namespace Monetization.Tests.Accounts;

/// <summary>
/// A burst of paid signups against API Gateway's fixed control-plane quotas, enforced: the key minting queue's one
/// paced consumer gives every subscriber exactly one working key, in a few imports, and no call goes over a quota.
/// The shipped benchmark (<c>tests/Benchmarks -- signups</c>) runs the same flood at launch scale.
/// </summary>
public sealed class KeyMintingFloodTests
{
    [Fact]
    public async Task AFloodOfSignupsGetsEveryoneOneWorkingKeyInAFewImportsWithoutACallOverAQuota()
    {
        await using var environment = await OfflineEnvironment.StartAsync(TestContext.Current.CancellationToken);

        var result = await SignupFlood.RunAsync(environment, signups: 150, spread: TimeSpan.FromSeconds(3), ledger: null, TestContext.Current.CancellationToken);

        Assert.True(result.Problems.Count == 0, string.Join("\n", result.Problems.Take(10)));
        Assert.Equal(150, result.Latencies.Count);
        Assert.Equal(0, result.Refused);

        // Two calls a key at the least when each key is created and added to its plan by itself; a batch is one.
        Assert.True(result.CallsPerKey < 0.5, result.Summary());
        Assert.True(result.Imports < 150 / 5, result.Summary());
    }
}
