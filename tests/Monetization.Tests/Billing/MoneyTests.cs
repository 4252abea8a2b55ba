using Monetization.Core.Billing;

namespace Monetization.Tests.Billing;

public sealed class MoneyTests
{
    [Theory]
    [InlineData("25", "usd", 2500)]
    [InlineData(" 25.5 ", "usd", 2550)]
    [InlineData("1,234.56", "usd", 123456)]
    [InlineData("0.01", "eur", 1)]
    [InlineData("2500", "jpy", 2500)]
    [InlineData("1000000", "usd", 100000000)]
    public void AnAmountTypedInTheMainUnitBecomesMinorUnits(string typed, string currency, long minor)
    {
        Assert.True(Money.TryParse(typed, currency, out var money, out var error));
        Assert.Null(error);
        Assert.Equal(new Money(minor, currency), money);
    }

    [Theory]
    [InlineData("", "usd")]
    [InlineData("25.001", "usd")]
    [InlineData("25.5", "jpy")]
    [InlineData("0", "usd")]
    [InlineData("1000001", "usd")]
    [InlineData("-1", "usd")]
    [InlineData("1e3", "usd")]
    [InlineData("1..2", "usd")]
    [InlineData("٣", "usd")]
    public void TextThatIsNotAnAmountIsRefusedWithAReason(string typed, string currency)
    {
        Assert.False(Money.TryParse(typed, currency, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void ACostIsRoundedAsStripeRoundsALineAndPrintedInTheMainUnit()
    {
        Assert.Equal(new Money(1, "usd"), Money.Of(5, 0.1m, "usd"));
        Assert.Equal(new Money(0, "usd"), Money.Of(4, 0.1m, "usd"));
        Assert.Equal("1,234.50 USD", new Money(123450, "usd").ToString());
        Assert.Equal("2,500 JPY", new Money(2500, "jpy").ToString());
        Assert.Equal("0.50", new Money(50, "usd").MainUnits);
    }
}
