using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Email;
using Monetization.Core.Mail;

namespace Monetization.Tests.Aws;

/// <summary>The <c>Email</c> settings: the sender as SES gets it, and a wrong value stopping the host with the setting's name.</summary>
public sealed class EmailSettingsTests
{
    [Theory]
    [InlineData("no-reply@example.com", "no-reply@example.com", null, "no-reply@example.com")]
    [InlineData("  No-Reply@Example.COM ", "No-Reply@example.com", null, "No-Reply@example.com")]
    [InlineData("<no-reply@example.com>", "no-reply@example.com", null, "no-reply@example.com")]
    [InlineData("Example API <no-reply@example.com>", "no-reply@example.com", "Example API", "Example API <no-reply@example.com>")]
    [InlineData("Example, Inc. <no-reply@example.com>", "no-reply@example.com", "Example, Inc.", "\"Example, Inc.\" <no-reply@example.com>")]
    [InlineData("\"Ex \\\"quoted\\\" API\" <no-reply@example.com>", "no-reply@example.com", "Ex \"quoted\" API", "\"Ex \\\"quoted\\\" API\" <no-reply@example.com>")]
    [InlineData("Müller API <no-reply@xn--mller-kva.example>", "no-reply@xn--mller-kva.example", "Müller API", "=?UTF-8?B?TcO8bGxlciBBUEk=?= <no-reply@xn--mller-kva.example>")]
    public void TheSenderIsTheAddressSesVerifiesWithItsDisplayNameEncodedForTheWire(string setting, string address, string? name, string wire)
    {
        Assert.True(SenderAddress.TryParse(setting, out var sender, out var problem), problem);

        Assert.Equal(address, sender.Address);
        Assert.Equal(name, sender.DisplayName);
        Assert.Equal(wire, sender.WireForm);
    }

    [Fact]
    public void ALongNonAsciiDisplayNameIsSplitIntoEncodedWordsOfAtMost75CharactersWithoutSplittingACharacter()
    {
        var name = string.Concat(Enumerable.Repeat("Grüße ", 15)).Trim();
        Assert.True(SenderAddress.TryParse($"{name} <no-reply@example.com>", out var sender, out _));

        var words = sender.WireForm[..sender.WireForm.IndexOf(" <", StringComparison.Ordinal)].Split(' ');

        Assert.True(words.Length > 1);
        Assert.All(words, w => Assert.InRange(w.Length, 1, 75));
        var decoded = string.Concat(words.Select(w => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(w["=?UTF-8?B?".Length..^2]))));
        Assert.Equal(name, decoded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("no-reply")]
    [InlineData("no-reply@localhost")]
    [InlineData("no reply@example.com")]
    [InlineData("josé@example.com")]
    [InlineData("no-reply@exämple.com")]
    [InlineData("a@b@example.com")]
    [InlineData("Example <no-reply@example.com")]
    [InlineData("Exa<mple <no-reply@example.com>")]
    [InlineData("no-reply..x@example.com")]
    public void AnythingButOneAsciiAddressWithAnOptionalNameIsRefused(string setting)
    {
        Assert.False(SenderAddress.TryParse(setting, out _, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Theory]
    [InlineData(null, null, "Email:FromAddress is required")]
    [InlineData("no-reply", null, "Email:FromAddress must be an e-mail address")]
    [InlineData("no-reply@example.com", "mail events", "Email:ConfigurationSetName must be an SES configuration set name")]
    public void AWrongEmailSettingStopsTheHostAtStartNamingIt(string? from, string? configurationSet, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Email:FromAddress"] = from, ["Email:ConfigurationSetName"] = configurationSet })
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddAwsSes(o =>
        {
            o.Region = "us-east-1";
            o.Credentials = AwsTestClients.TestCredentials;
        });
        using var provider = services.BuildServiceProvider(validateScopes: true);

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<EmailSettings>>().Value);

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheRegisteredSenderIsSesOnTheBoundSettings()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Email:FromAddress"] = "Example API <no-reply@example.com>" })
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddAwsSes(o =>
        {
            o.Region = "us-east-1";
            o.Credentials = AwsTestClients.TestCredentials;
        });
        using var provider = services.BuildServiceProvider(validateScopes: true);

        Assert.IsType<SesEmailSender>(provider.GetRequiredService<IEmailSender>());
        Assert.Equal("no-reply@example.com", provider.GetRequiredService<IOptions<EmailSettings>>().Value.Sender().Address);
        Assert.Null(provider.GetRequiredService<IOptions<EmailSettings>>().Value.ConfigurationSet());
    }
}
