using System.Text.Json;

namespace Monetization.Tests.Lambda;

/// <summary>Reads the JSON console lines a published function wrote, with the scopes each line carries.</summary>
internal static class LoggedScopes
{
    /// <summary>The scope pairs of every JSON log line whose message contains <paramref name="text"/>.</summary>
    public static IReadOnlyList<Dictionary<string, string?>> Of(string output, string text)
    {
        var found = new List<Dictionary<string, string?>>();
        foreach (var line in output.Split('\n'))
        {
            if (!line.StartsWith('{') || !line.Contains(text, StringComparison.Ordinal))
            {
                continue;
            }

            using var json = JsonDocument.Parse(line);
            if (!json.RootElement.TryGetProperty("Message", out var message) || !message.GetString()!.Contains(text, StringComparison.Ordinal))
            {
                continue;
            }

            var pairs = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (json.RootElement.TryGetProperty("Scopes", out var scopes))
            {
                foreach (var scope in scopes.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object))
                {
                    foreach (var pair in scope.EnumerateObject().Where(p => p.Name != "Message"))
                    {
                        pairs[pair.Name] = pair.Value.ValueKind == JsonValueKind.String ? pair.Value.GetString() : pair.Value.GetRawText();
                    }
                }
            }

            found.Add(pairs);
        }

        return found;
    }
}
