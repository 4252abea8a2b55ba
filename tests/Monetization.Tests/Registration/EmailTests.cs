using Monetization.Core.Accounts;
using Monetization.Core.Ledger;
using Monetization.Core.Registration;

namespace Monetization.Tests.Registration;

public sealed class EmailTests
{
    [Theory]
    [InlineData("  Ada@Example.COM ", "ada@example.com")]
    [InlineData("ADA@EXÄMPLE.COM", "ada@xn--exmple-cua.com")]
    [InlineData("ada@bücher.de", "ada@xn--bcher-kva.de")]
    [InlineData("ada@xn--bcher-kva.de", "ada@xn--bcher-kva.de")]
    [InlineData("o'brien+tag@例え.jp", "o'brien+tag@xn--r8jz45g.jp")]
    public void AddressIsNormalisedToLowerCaseAsciiWithItsDomainInPunycode(string input, string normalized)
    {
        Assert.True(Email.TryParse(input, out var email, out var error), error);
        Assert.Equal(normalized, email.Normalized);
    }

    [Theory]
    [InlineData("josé@example.com", "before the @")]
    [InlineData("ada@exa mple.com", "name@example.com")]
    [InlineData("ada@-example.com", "name@example.com")]
    [InlineData("ada@example..com", "name@example.com")]
    [InlineData("ada@example", "name@example.com")]
    [InlineData("a@b@example.com", "name@example.com")]
    public void AddressThatCannotBeSentIsRefusedWithAMessage(string input, string hint)
    {
        Assert.False(Email.TryParse(input, out _, out var error));
        Assert.Contains(hint, error, StringComparison.Ordinal);
    }

    [Fact]
    public void LongestAddressItsAsciiFormAllowsIsAcceptedAndOneMoreCharacterIsNot()
    {
        var local = new string('l', 64);
        Assert.True(Email.TryParse($"{local}@{new string('d', 63)}.{new string('e', 63)}.{new string('f', 57)}.com", out _, out _));
        Assert.False(Email.TryParse($"{local}@{new string('d', 63)}.{new string('e', 63)}.{new string('f', 58)}.com", out _, out var error));
        Assert.Contains("254", error, StringComparison.Ordinal);
    }

    [Fact]
    public void SubscriberIdKeyNameAndReferenceAreShortAsciiWithoutTheAddress()
    {
        Assert.True(Email.TryParse($"{new string('l', 64)}@example.com", out var email, out _));

        var subscriberId = StripeSubscribers.IdOf(email);
        var holder = StripeSubscribers.HolderOf(new Subscriber { Id = subscriberId, Channel = Channel.Stripe, Status = SubscriberStatus.Pending, CreatedAt = default, UpdatedAt = default });

        Assert.Equal(subscriberId, holder.SubscriberId);
        Assert.Matches("^stripe#[0-9a-f]{32}$", holder.SubscriberId);
        Assert.Matches("^stripe:[0-9a-f]{32}$", holder.KeyName);
        Assert.Equal(SubscriberRef.Hash(email.Normalized), holder.SubscriberId["stripe#".Length..]);
    }
}
