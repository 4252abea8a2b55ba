using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Monetization.Aws.Marketplace;

// Shapes follow the botocore model meteringmarketplace/2016-01-14 (JSON 1.1: PascalCase members, epoch-second timestamps).

internal sealed record ResolveCustomerRequest(string RegistrationToken)
{
    public override string ToString() => "ResolveCustomerRequest { RegistrationToken = *** }";
}

public sealed record ResolveCustomerResult(
    string? CustomerIdentifier,
    [property: JsonPropertyName("CustomerAWSAccountId")] string? CustomerAwsAccountId,
    string? ProductCode,
    string? LicenseArn);

public sealed record UsageRecord(
    [property: JsonConverter(typeof(EpochSecondsConverter))] DateTimeOffset Timestamp,
    string Dimension,
    int? Quantity,
    string? CustomerIdentifier = null,
    [property: JsonPropertyName("CustomerAWSAccountId")] string? CustomerAwsAccountId = null,
    string? LicenseArn = null);

public sealed record BatchMeterUsageRequest(string ProductCode, IReadOnlyList<UsageRecord> UsageRecords);

public sealed record UsageRecordResult(UsageRecord? UsageRecord, string? MeteringRecordId, string? Status);

public sealed record BatchMeterUsageResult(IReadOnlyList<UsageRecordResult>? Results, IReadOnlyList<UsageRecord>? UnprocessedRecords);

/// <summary>JSON 1.1 timestamps are seconds since the epoch, possibly fractional.</summary>
public sealed class EpochSecondsConverter : JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number => DateTimeOffset.UnixEpoch.AddMilliseconds(Math.Round(reader.GetDouble() * 1000)),
            JsonTokenType.String => DateTimeOffset.Parse(reader.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
            _ => throw new JsonException($"Expected a timestamp, found {reader.TokenType}."),
        };

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteNumberValue(value.ToUnixTimeSeconds());
    }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ResolveCustomerRequest))]
[JsonSerializable(typeof(ResolveCustomerResult))]
[JsonSerializable(typeof(BatchMeterUsageRequest))]
[JsonSerializable(typeof(BatchMeterUsageResult))]
internal sealed partial class MeteringJsonContext : JsonSerializerContext;
