using Monetization.Core;

namespace Monetization.Tests;

public sealed class SecretTests
{
    [Fact]
    public void SecretNeverPrintsItsValue()
    {
        var secret = new Secret("sk_test_123");

        Assert.Equal("***", secret.ToString());
        Assert.DoesNotContain("sk_test_123", $"{secret}", StringComparison.Ordinal);
        Assert.Equal("sk_test_123", secret.Reveal());
    }
}
