using System.Text.Json;
using System.Text.Json.Serialization;
using Monetization.Core.Usage;

namespace Monetization.UsageReporter;

/// <summary>
/// A run's summary as one JSON line, and the same numbers as a CloudWatch embedded-metric-format document (which the
/// Lambda log agent turns into metrics in namespace <see cref="Namespace"/>).
/// </summary>
public static class UsageReportOutput
{
    public const string Namespace = "Monetization/Usage";

    public static string SummaryLine(UsageReportSummary summary) =>
        JsonSerializer.Serialize(summary, UsageReportJsonContext.Default.UsageReportSummary);

    public static string EmbeddedMetrics(UsageReportSummary summary, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(summary);
        List<(string Name, long Value)> metrics =
        [
            ("UnitsReported", summary.Stripe.UnitsReported + (summary.Marketplace?.UnitsReported ?? 0)),
            ("EventsSent", summary.Stripe.EventsSent + (summary.Marketplace?.RecordsSent ?? 0)),
            ("KeysSkipped", summary.Stripe.KeysSkipped + (summary.Marketplace?.KeysSkipped ?? 0)),
            ("Failures", summary.Failures),
            ("MarketplaceBuyersUnmeterable", summary.Marketplace?.BuyersUnmeterable ?? 0),
            ("EndedKeysDeleted", summary.Stripe.EndedKeysDeleted + (summary.Marketplace?.EndedKeysDeleted ?? 0)),
        ];
        if (summary.ApiKeysInAccount is { } keys)
        {
            // Absent rather than 0 when the count failed, so the alarm on it never sees a false low.
            metrics.Add(("ApiKeysInAccount", keys));
        }

        return Emf(metrics, at);
    }

    /// <summary>One embedded-metric-format document: the metrics in <see cref="Namespace"/>, dimension Function = UsageReporter.</summary>
    internal static string Emf(IReadOnlyList<(string Name, long Value)> metrics, DateTimeOffset at)
    {

        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("_aws");
            json.WriteNumber("Timestamp", at.ToUnixTimeMilliseconds());
            json.WriteStartArray("CloudWatchMetrics");
            json.WriteStartObject();
            json.WriteString("Namespace", Namespace);
            json.WriteStartArray("Dimensions");
            json.WriteStartArray();
            json.WriteStringValue("Function");
            json.WriteEndArray();
            json.WriteEndArray();
            json.WriteStartArray("Metrics");
            foreach (var (name, _) in metrics)
            {
                json.WriteStartObject();
                json.WriteString("Name", name);
                json.WriteString("Unit", "Count");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteString("Function", "UsageReporter");
            foreach (var (name, value) in metrics)
            {
                json.WriteNumber(name, value);
            }

            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsageReportSummary))]
internal sealed partial class UsageReportJsonContext : JsonSerializerContext;
