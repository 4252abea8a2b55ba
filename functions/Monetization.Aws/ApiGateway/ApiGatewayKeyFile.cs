using System.Text;
using Monetization.Core;
using Monetization.Core.ApiKeys;

namespace Monetization.Aws.ApiGateway;

/// <summary>
/// API Gateway's API key file format (developer guide, "API Gateway API key file format"), which ImportApiKeys reads:
/// a CSV file with the header <c>Name,Key,Description,Enabled,UsagePlanIds</c> (names are case-insensitive; these are
/// the documented spellings) and one row per key. A field holding a comma or a quote is quoted, quotes doubled, so
/// several usage plan ids travel as one quoted, comma-separated field as the guide shows.
/// </summary>
public static class ApiGatewayKeyFile
{
    public const string Header = "Name,Key,Description,Enabled,UsagePlanIds";

    /// <summary>A key value API Gateway accepts: 20 to 128 characters.</summary>
    public const int MinValueLength = 20;

    public const int MaxValueLength = 128;

    public static Secret Write(IReadOnlyList<ApiKeyImport> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var file = new StringBuilder(Header).Append('\n');
        foreach (var key in keys)
        {
            var value = key.Value.Reveal();
            if (value.Length is < MinValueLength or > MaxValueLength)
            {
                throw new ArgumentException($"An API key value must have {MinValueLength} to {MaxValueLength} characters; key {key.Name} has {value.Length}.", nameof(keys));
            }

            file.Append(Field(key.Name)).Append(',')
                .Append(Field(value)).Append(',')
                .Append(Field(key.Description)).Append(',')
                .Append(key.Enabled ? "true" : "false").Append(',')
                .Append(Field(string.Join(',', key.UsagePlanIds))).Append('\n');
        }

        return new Secret(file.ToString());
    }

    private static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"'\r\n") < 0 ? value : $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
