using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Monetization.Core.Usage;

namespace Monetization.UsageReporter;

/// <summary>
/// A reconciliation as a table for people, one JSON summary line for programs, and the <c>ReconciliationDrift</c>
/// metric (units no known cause explains), which the stack alarms on.
/// </summary>
public static class ReconciliationOutput
{
    /// <summary>
    /// The day an invocation asks to reconcile: <c>{"reconcile":true}</c> the last closed day, <c>{"reconcile":"YYYY-MM-DD"}</c>
    /// that day; null for any other payload (the hourly report).
    /// </summary>
    public static DateOnly? RequestedDay(Stream payload, DateOnly lastClosedDay)
    {
        ArgumentNullException.ThrowIfNull(payload);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload);
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("reconcile", out var reconcile))
            {
                return null;
            }

            return reconcile.ValueKind switch
            {
                JsonValueKind.True => lastClosedDay,
                JsonValueKind.String when DateOnly.TryParseExact(reconcile.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) => day,
                _ => throw new ArgumentException("\"reconcile\" is true (the last closed day) or a day as YYYY-MM-DD."),
            };
        }
    }

    public static string SummaryLine(ReconciliationReport report) =>
        JsonSerializer.Serialize(report, ReconciliationJsonContext.Default.ReconciliationReport);

    /// <summary>One line per subscriber (or unheld key): counted, recorded, in flight, billed, drift and the finding.</summary>
    public static string Table(ReconciliationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var table = new StringBuilder();
        table.AppendLine(CultureInfo.InvariantCulture, $"reconciliation of {report.Day:yyyy-MM-dd} (UTC): {report.Rows.Count} rows, drift {report.Drift}");
        table.AppendLine(CultureInfo.InvariantCulture, $"{"channel",-12} {"subscriber",-42} {"keys",4} {"counted",9} {"recorded",9} {"in flight",9} {"billed",9} {"drift",6}  finding");
        foreach (var row in report.Rows)
        {
            table.AppendLine(CultureInfo.InvariantCulture, $"{row.Channel,-12} {row.SubscriberId ?? "(nobody) " + row.KeyIds[0],-42} {row.KeyIds.Count,4} {Number(row.Counted),9} {row.Recorded,9} {row.InFlight,9} {Number(row.Billed),9} {row.Drift,6}  {row.Finding}");
        }

        return table.ToString().TrimEnd();
    }

    public static string EmbeddedMetrics(ReconciliationReport report, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(report);
        return UsageReportOutput.Emf([("ReconciliationDrift", report.Drift), ("ReconciliationRows", report.Rows.Count)], at);
    }

    private static string Number(long? value) => value?.ToString(CultureInfo.InvariantCulture) ?? "-";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ReconciliationReport))]
internal sealed partial class ReconciliationJsonContext : JsonSerializerContext;
