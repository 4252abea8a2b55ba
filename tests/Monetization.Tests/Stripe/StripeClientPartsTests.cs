using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monetization.Stripe;

namespace Monetization.Tests.Stripe;

public sealed class StripeClientPartsTests
{
    [Fact]
    public void FormEncoderEscapesNestedKeysAndOrdersMapsStably()
    {
        var form = new StripeForm()
            .Add("items[0][price]", "price_1")
            .AddMap("metadata", new Dictionary<string, string> { ["z"] = "last", ["a b"] = "x&y=z" })
            .Add("skipped", (string?)null)
            .Add("limit", 3L);

        Assert.Equal("items%5B0%5D%5Bprice%5D=price_1&metadata%5Ba%20b%5D=x%26y%3Dz&metadata%5Bz%5D=last&limit=3", form.Encode());
    }

    [Fact]
    public void ExceptionTextNeverCarriesAKey()
    {
        var error = new StripeException("Invalid API Key provided: sk_live_abcdef123456 (whsec_zzz9)", 401, "invalid_request_error", null, null, "req_1", null);

        Assert.DoesNotContain("abcdef", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("zzz9", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("sk_live_***", error.Message, StringComparison.Ordinal);
        Assert.Contains("req_1", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingSecretKeyAndPriceFailValidationNamingTheSettings()
    {
        var services = new ServiceCollection();
        services.AddStripeBilling(_ => { });
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<StripeOptions>>().Value);

        Assert.Contains(error.Failures, f => f.Contains("Stripe:SecretKey", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Stripe:PriceId", StringComparison.Ordinal));
    }
}
