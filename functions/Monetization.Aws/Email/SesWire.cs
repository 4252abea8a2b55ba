using System.Text.Json.Serialization;

namespace Monetization.Aws.Email;

// Shapes follow the botocore model sesv2/2019-09-27 (rest-json, PascalCase members).

public sealed record SesContent(string Data, string? Charset = "UTF-8")
{
    /// <summary>Names no content: bodies carry sign-in links.</summary>
    public override string ToString() => $"SesContent {{ {Data.Length} characters }}";
}

public sealed record SesBody(SesContent? Text, SesContent? Html);

public sealed record SesSimpleMessage(SesContent Subject, SesBody Body);

public sealed record SesEmailContent(SesSimpleMessage Simple);

public sealed record SesDestination(IReadOnlyList<string> ToAddresses)
{
    /// <summary>Names no recipient: addresses are personal data.</summary>
    public override string ToString() => $"SesDestination {{ {ToAddresses.Count} recipient(s) }}";
}

public sealed record SendEmailRequest(string FromEmailAddress, SesDestination Destination, SesEmailContent Content, string? ConfigurationSetName = null);

internal sealed record SendEmailResult(string? MessageId);

/// <summary>The parts of <c>GetAccount</c> the setup check reads.</summary>
public sealed record SesAccount(bool ProductionAccessEnabled, bool SendingEnabled, string? EnforcementStatus, SesSendQuota? SendQuota);

public sealed record SesSendQuota(double Max24HourSend, double MaxSendRate, double SentLast24Hours);

/// <summary>The parts of <c>GetEmailIdentity</c> the setup check reads.</summary>
public sealed record SesEmailIdentity(string? IdentityType, bool VerifiedForSendingStatus, string? VerificationStatus)
{
    /// <summary>
    /// SES's <c>VerifiedForSendingStatus</c>, or a <c>VerificationStatus</c> of <c>SUCCESS</c> (moto reports every
    /// identity it holds with SUCCESS and VerifiedForSendingStatus false, and sends from it).
    /// </summary>
    public bool IsVerified => VerifiedForSendingStatus || string.Equals(VerificationStatus, "SUCCESS", StringComparison.Ordinal);
}

/// <summary>The parts of <c>GetConfigurationSet</c> the setup check reads.</summary>
public sealed record SesConfigurationSet(string? ConfigurationSetName);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SendEmailRequest))]
[JsonSerializable(typeof(SendEmailResult))]
[JsonSerializable(typeof(SesAccount))]
[JsonSerializable(typeof(SesEmailIdentity))]
[JsonSerializable(typeof(SesConfigurationSet))]
internal sealed partial class SesJsonContext : JsonSerializerContext;
