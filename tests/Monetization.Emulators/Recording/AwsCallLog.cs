using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.Recording;

/// <summary>
/// Where recorded AWS calls go: JSON lines in a file under the directory <see cref="DirectoryVariable"/> names, one
/// file per test process. The IAM check (tests/iam) reads them after the tests and evaluates every call against the
/// template's policies. Unset, nothing is written and the proxies only forward.
/// </summary>
public static class AwsCallLog
{
    public const string DirectoryVariable = "MONETIZATION_AWS_CALL_LOG";

    private static readonly Lock Gate = new();

    public static string? Directory => Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } directory ? directory : null;

    /// <summary>
    /// One call as the service would authorize it: who made it (the template's logical id of the function), which
    /// service (from the SigV4 credential scope), the HTTP method and path, the JSON protocols' target and the resource
    /// names in the body (for SES SendEmail the sender's address and the configuration set; never a recipient). Concrete ids are replaced by the template's logical ids through <paramref name="logicalIds"/>.
    /// </summary>
    public static async Task<JsonObject> DescribeAsync(string function, HttpRequest request, IReadOnlyDictionary<string, string> logicalIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(logicalIds);
        string Logical(string value) => logicalIds.TryGetValue(value, out var id) ? id : value;

        var call = new JsonObject
        {
            ["function"] = function,
            ["service"] = SigningService(request.Headers.Authorization.ToString()),
            ["method"] = request.Method,
            ["path"] = string.Join('/', (request.Path.Value ?? "/").Split('/').Select(segment => Logical(Uri.UnescapeDataString(segment)))),
            ["query"] = request.QueryString.Value ?? string.Empty,
            ["target"] = request.Headers["X-Amz-Target"].ToString() is { Length: > 0 } target ? target : null,
        };

        if (call["target"] is not null)
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8, leaveOpen: true);
            var body = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            call["resources"] = ResourceNames(body, Logical);
        }
        else if ((string?)call["service"] == "ses" && HttpMethods.IsPost(request.Method) && request.Path.Equals("/v2/email/outbound-emails", StringComparison.Ordinal))
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8, leaveOpen: true);
            call["resources"] = SendEmailResourceNames(await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false), Logical);
        }

        return call;
    }

    public static void Append(JsonObject call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (Directory is not { } directory)
        {
            return;
        }

        System.IO.Directory.CreateDirectory(directory);
        var line = call.ToJsonString() + "\n";
        lock (Gate)
        {
            File.AppendAllText(Path.Combine(directory, $"calls-{Environment.ProcessId}.jsonl"), line);
        }
    }

    /// <summary>The names an IAM resource is built from, wherever the JSON protocols put them; never item data.</summary>
    private static JsonObject ResourceNames(string body, Func<string, string> logical)
    {
        var names = new JsonObject();
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
        }
        catch (JsonException)
        {
            return names;
        }

        using var owner = document;
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            return names;
        }

        foreach (var name in new[] { "TableName", "IndexName", "SecretId", "QueueUrl" })
        {
            if (root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String)
            {
                names[name] = logical(value.GetString()!);
            }
        }

        if (root.TryGetProperty("TransactItems", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            var parts = new JsonArray();
            foreach (var item in items.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.Object))
            {
                foreach (var part in item.EnumerateObject())
                {
                    if (part.Value.ValueKind == JsonValueKind.Object && part.Value.TryGetProperty("TableName", out var table) && table.ValueKind == JsonValueKind.String)
                    {
                        parts.Add(new JsonObject { ["kind"] = part.Name, ["TableName"] = logical(table.GetString()!) });
                    }
                }
            }

            names["TransactItems"] = parts;
        }

        if (root.TryGetProperty("RequestItems", out var requestItems) && requestItems.ValueKind == JsonValueKind.Object)
        {
            names["RequestItems"] = new JsonArray([.. requestItems.EnumerateObject().Select(table => (JsonNode)JsonValue.Create(logical(table.Name)))]);
        }

        return names;
    }

    /// <summary>What SES authorizes SendEmail on: the From address without its display name, and the configuration set.</summary>
    private static JsonObject SendEmailResourceNames(string body, Func<string, string> logical)
    {
        var names = new JsonObject();
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("FromEmailAddress", out var from) && from.ValueKind == JsonValueKind.String)
            {
                var text = from.GetString()!;
                var open = text.LastIndexOf('<');
                names["FromEmailAddress"] = logical(open >= 0 && text.EndsWith('>') ? text[(open + 1)..^1].Trim() : text.Trim());
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("ConfigurationSetName", out var set) && set.ValueKind == JsonValueKind.String)
            {
                names["ConfigurationSetName"] = logical(set.GetString()!);
            }
        }
        catch (JsonException)
        {
            // A body that is not JSON names nothing; the IAM check reports the call as unmapped.
        }

        return names;
    }

    /// <summary>The service from <c>Credential=AKID/date/region/service/aws4_request</c>.</summary>
    private static string? SigningService(string authorization)
    {
        const string marker = "Credential=";
        var start = authorization.IndexOf(marker, StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }

        var scope = authorization[(start + marker.Length)..].Split(',')[0].Split('/');
        return scope.Length == 5 ? scope[3] : null;
    }
}
