using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.AwsStandIn;

/// <summary>
/// API Gateway's <c>ImportApiKeys</c> (<c>POST /apikeys?mode=import&amp;format=csv[&amp;failonwarnings=true]</c>), which
/// moto lacks, carried out on moto as the developer guide's "API Gateway API key file format" describes it: a CSV file
/// whose <c>Name</c> and <c>Key</c> columns are required and <c>Description</c>, <c>Enabled</c> and <c>UsagePlanIds</c>
/// optional, header names in any case and any order, unknown columns ignored, <c>Enabled</c> true when absent, several
/// usage plan ids quoted (double or single quotes) and comma-separated, a key value of 20 to 128 characters and a name
/// of at most 1,024; importing a value that exists overwrites that key. The answer is botocore's <c>ApiKeyIds</c>
/// (201, <c>ids</c> in the file's row order and <c>warnings</c>). A row that breaks a rule is a warning: with
/// <c>failonwarnings=true</c> nothing is imported and the answer is 400 <c>BadRequestException</c>; without, the row is
/// skipped.
/// </summary>
public sealed class ApiGatewayKeyImport(HttpClient moto)
{
    public const int MinKeyLength = 20;
    public const int MaxKeyLength = 128;
    public const int MaxNameLength = 1024;

    private readonly SemaphoreSlim _one = new(1, 1);
    private int _imports;

    /// <summary>Import calls answered so far.</summary>
    public int Imports => Volatile.Read(ref _imports);

    /// <summary>Answers an import; returns <c>false</c> for every other request.</summary>
    public async Task<bool> AnswerAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var segments = (context.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (!HttpMethods.IsPost(context.Request.Method) || segments is not ["apikeys"]
            || !string.Equals(context.Request.Query["mode"], "import", StringComparison.Ordinal))
        {
            return false;
        }

        var (status, body) = await ImportAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (status >= 400)
        {
            context.Response.Headers["x-amzn-ErrorType"] = "BadRequestException";
        }

        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
        return true;
    }

    /// <summary>Parses API Gateway's API key file: the header row, then one row per key (RFC 4180 quoting, plus single quotes).</summary>
    public static IReadOnlyList<IReadOnlyList<string>> ParseCsv(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var rows = new List<IReadOnlyList<string>>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var i = 0;
        var atFieldStart = true;
        while (i < text.Length)
        {
            var c = text[i];
            if (atFieldStart && c is '"' or '\'')
            {
                var quote = c;
                i++;
                while (i < text.Length)
                {
                    if (text[i] == quote && i + 1 < text.Length && text[i + 1] == quote)
                    {
                        field.Append(quote);
                        i += 2;
                    }
                    else if (text[i] == quote)
                    {
                        i++;
                        break;
                    }
                    else
                    {
                        field.Append(text[i++]);
                    }
                }

                atFieldStart = false;
                continue;
            }

            atFieldStart = false;
            if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
                atFieldStart = true;
                i++;
            }
            else if (c is '\r' or '\n')
            {
                fields.Add(field.ToString());
                field.Clear();
                if (fields.Count > 1 || fields[0].Length > 0)
                {
                    rows.Add([.. fields]);
                }

                fields.Clear();
                atFieldStart = true;
                i += c == '\r' && i + 1 < text.Length && text[i + 1] == '\n' ? 2 : 1;
            }
            else
            {
                field.Append(c);
                i++;
            }
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            rows.Add([.. fields]);
        }

        return rows;
    }

    private async Task<(int Status, JsonObject Body)> ImportAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!string.Equals(request.Query["format"], "csv", StringComparison.Ordinal))
        {
            return Refused("format must be csv.");
        }

        var failOnWarnings = string.Equals(request.Query["failonwarnings"], "true", StringComparison.OrdinalIgnoreCase);
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var rows = ParseCsv(await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false));
        if (rows.Count == 0)
        {
            return Refused("The API key file is empty.");
        }

        var header = rows[0].Select(h => h.Trim().ToLowerInvariant()).ToList();
        int Column(string name) => header.IndexOf(name);
        var (nameAt, keyAt, descriptionAt, enabledAt, plansAt) = (Column("name"), Column("key"), Column("description"), Column("enabled"), Column("usageplanids"));
        if (nameAt < 0 || keyAt < 0)
        {
            return Refused("The API key file must have a Name and a Key column.");
        }

        await _one.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _imports);
            var plans = await UsagePlanIdsAsync(cancellationToken).ConfigureAwait(false);
            var warnings = new JsonArray();
            var valid = new List<(string Name, string Key, string Description, bool Enabled, IReadOnlyList<string> Plans)>();
            for (var row = 1; row < rows.Count; row++)
            {
                string Field(int at) => at >= 0 && at < rows[row].Count ? rows[row][at] : string.Empty;
                var (name, key, enabledText) = (Field(nameAt), Field(keyAt), Field(enabledAt).Trim());
                var planIds = Field(plansAt).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var problem = key.Length is < MinKeyLength or > MaxKeyLength ? $"Key must be between {MinKeyLength} and {MaxKeyLength} characters"
                    : name.Length is 0 or > MaxNameLength ? $"Name must be between 1 and {MaxNameLength} characters"
                    : enabledText.Length > 0 && !bool.TryParse(enabledText, out _) ? $"Enabled must be true or false, not '{enabledText}'"
                    : planIds.FirstOrDefault(p => !plans.Contains(p)) is { } unknown ? $"Invalid usage plan ID specified: {unknown}"
                    : null;
                if (problem is not null)
                {
                    warnings.Add((JsonNode)string.Create(CultureInfo.InvariantCulture, $"Row {row}: {problem}."));
                    continue;
                }

                valid.Add((name, key, Field(descriptionAt), enabledText.Length == 0 || bool.Parse(enabledText), planIds));
            }

            if (failOnWarnings && warnings.Count > 0)
            {
                return Refused(string.Join(" ", warnings.Select(w => w!.GetValue<string>())));
            }

            var existing = await KeysByValueAsync(cancellationToken).ConfigureAwait(false);
            var ids = new JsonArray();
            foreach (var (name, key, description, enabled, planIds) in valid)
            {
                var id = existing.TryGetValue(key, out var known)
                    ? await OverwriteAsync(known, name, description, enabled, cancellationToken).ConfigureAwait(false)
                    : await CreateAsync(name, key, description, enabled, cancellationToken).ConfigureAwait(false);
                existing[key] = id;
                foreach (var plan in planIds)
                {
                    using var joined = await moto.PostAsJsonAsync(
                        new Uri($"/usageplans/{Uri.EscapeDataString(plan)}/keys", UriKind.Relative),
                        new JsonObject { ["keyId"] = id, ["keyType"] = "API_KEY" },
                        cancellationToken).ConfigureAwait(false);
                    joined.EnsureSuccessStatusCode();
                }

                ids.Add((JsonNode)id);
            }

            return (201, new JsonObject { ["ids"] = ids, ["warnings"] = warnings });
        }
        finally
        {
            _one.Release();
        }
    }

    private async Task<HashSet<string>> UsagePlanIdsAsync(CancellationToken cancellationToken)
    {
        using var document = await GetAsync("/usageplans", cancellationToken).ConfigureAwait(false);
        return [.. document.RootElement.GetProperty("item").EnumerateArray().Select(p => p.GetProperty("id").GetString()!)];
    }

    private async Task<Dictionary<string, string>> KeysByValueAsync(CancellationToken cancellationToken)
    {
        using var document = await GetAsync("/apikeys?includeValues=true", cancellationToken).ConfigureAwait(false);
        return document.RootElement.GetProperty("item").EnumerateArray()
            .ToDictionary(k => k.GetProperty("value").GetString()!, k => k.GetProperty("id").GetString()!, StringComparer.Ordinal);
    }

    private async Task<string> CreateAsync(string name, string key, string description, bool enabled, CancellationToken cancellationToken)
    {
        using var created = await moto.PostAsJsonAsync(
            new Uri("/apikeys", UriKind.Relative),
            new JsonObject { ["name"] = name, ["value"] = key, ["description"] = description, ["enabled"] = enabled },
            cancellationToken).ConfigureAwait(false);
        created.EnsureSuccessStatusCode();
        using var document = await JsonDocument.ParseAsync(await created.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
        return document.RootElement.GetProperty("id").GetString()!;
    }

    private async Task<string> OverwriteAsync(string id, string name, string description, bool enabled, CancellationToken cancellationToken)
    {
        var patch = new JsonObject
        {
            ["patchOperations"] = new JsonArray(
                new JsonObject { ["op"] = "replace", ["path"] = "/name", ["value"] = name },
                new JsonObject { ["op"] = "replace", ["path"] = "/description", ["value"] = description },
                new JsonObject { ["op"] = "replace", ["path"] = "/enabled", ["value"] = enabled ? "true" : "false" }),
        };
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri($"/apikeys/{Uri.EscapeDataString(id)}", UriKind.Relative)) { Content = JsonContent.Create(patch) };
        using var patched = await moto.SendAsync(request, cancellationToken).ConfigureAwait(false);
        patched.EnsureSuccessStatusCode();
        return id;
    }

    private async Task<JsonDocument> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await moto.GetAsync(new Uri(path, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        return await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static (int, JsonObject) Refused(string message) => (400, new JsonObject { ["message"] = message });
}
