using Microsoft.Extensions.Options;

namespace Monetization.Aws.Email;

/// <summary>
/// How the system sends e-mail, bound once from the <c>Email</c> section (environment: <c>Email__*</c>; the template
/// passes its <c>EmailSenderAddress</c>, <c>EmailSenderName</c> and <c>EmailConfigurationSet</c> parameters).
/// </summary>
public sealed class EmailSettings
{
    public const string Section = "Email";
    public const string FromAddressSetting = "Email:FromAddress";
    public const string ConfigurationSetNameSetting = "Email:ConfigurationSetName";

    /// <summary>The sender, <c>address</c> or <c>Name &lt;address&gt;</c>; SES sends only from a verified identity.</summary>
    public string? FromAddress { get; set; }

    /// <summary>An SES configuration set every message is sent with (event publishing, a dedicated IP pool); none when unset.</summary>
    public string? ConfigurationSetName { get; set; }

    /// <summary>The parsed <see cref="FromAddress"/>; only valid settings reach a sender (<see cref="EmailSettingsValidator"/>).</summary>
    public SenderAddress Sender() => SenderAddress.TryParse(FromAddress, out var sender, out var problem)
        ? sender
        : throw new InvalidOperationException($"{FromAddressSetting} {problem}.");

    /// <summary>The configuration set, or null when none is set.</summary>
    public string? ConfigurationSet() => string.IsNullOrWhiteSpace(ConfigurationSetName) ? null : ConfigurationSetName.Trim();
}

/// <summary>Messages name the setting and say what a good value looks like.</summary>
public sealed class EmailSettingsValidator : IValidateOptions<EmailSettings>
{
    public ValidateOptionsResult Validate(string? name, EmailSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!SenderAddress.TryParse(options.FromAddress, out _, out var problem))
        {
            failures.Add($"{EmailSettings.FromAddressSetting} {problem}: the address (or \"Name <address>\") mail is sent from, a verified SES identity (template parameter EmailSenderAddress).");
        }

        // SES: letters, numbers, underscores and hyphens, at most 64 characters.
        if (options.ConfigurationSet() is { } set && (set.Length > 64 || !set.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-')))
        {
            failures.Add($"{EmailSettings.ConfigurationSetNameSetting} must be an SES configuration set name (letters, digits, '_' and '-', at most 64 characters), or unset.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
