using YamlDotNet.RepresentationModel;

namespace Monetization.Emulators.Lambda;

/// <summary>
/// What template.yaml gives a function's environment: the Globals' variables, then the function's own. A
/// <c>!Ref</c> (or a <c>!Sub</c> string's <c>${Name}</c>) is resolved from the values the caller names (the resources and parameters the test created); one it
/// does not name fails loudly, so a variable added to the template shows up here instead of being silently missed.
/// </summary>
public static partial class SamTemplate
{
    public static IReadOnlyDictionary<string, string> EnvironmentOf(string templatePath, string logicalId, IReadOnlyDictionary<string, string> references)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(templatePath);
        ArgumentException.ThrowIfNullOrWhiteSpace(logicalId);
        ArgumentNullException.ThrowIfNull(references);
        var yaml = new YamlStream();
        using (var reader = new StreamReader(templatePath))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var scope in new[]
                 {
                     Path(root, "Globals", "Function", "Environment", "Variables"),
                     Path(root, "Resources", logicalId, "Properties", "Environment", "Variables"),
                 })
        {
            if (scope is not YamlMappingNode mapping)
            {
                continue;
            }

            foreach (var (name, value) in mapping.Children)
            {
                var variable = ((YamlScalarNode)name).Value!;
                if (Resolve(logicalId, variable, value, references) is { } resolved)
                {
                    variables[variable] = resolved;
                }
                else
                {
                    variables.Remove(variable);
                }
            }
        }

        if (Path(root, "Resources", logicalId) is null)
        {
            throw new InvalidOperationException($"{logicalId} is not a resource of {templatePath}.");
        }

        return variables;
    }

    /// <returns>null for <c>!Ref AWS::NoValue</c>: the variable is not set.</returns>
    private static string? Resolve(string logicalId, string name, YamlNode value, IReadOnlyDictionary<string, string> references)
    {
        if (value is YamlSequenceNode { Children: [YamlScalarNode condition, var whenTrue, var whenFalse] } && TagOf(value) == "!If")
        {
            // Conditions are named in the references as Condition:<name> = true | false.
            return references.TryGetValue("Condition:" + condition.Value, out var holds)
                ? Resolve(logicalId, name, bool.Parse(holds) ? whenTrue : whenFalse, references)
                : throw new InvalidOperationException($"{logicalId}'s {name} depends on condition {condition.Value}, which the caller did not resolve.");
        }

        if (value is YamlScalarNode { Value: "AWS::NoValue" } && TagOf(value) == "!Ref")
        {
            return null;
        }

        if (value is not YamlScalarNode scalar)
        {
            throw new InvalidOperationException($"{logicalId}'s {name} is not a plain value, a !Ref, a !Sub or an !If.");
        }

        if (scalar.Tag.IsEmpty || scalar.Tag.Value is "tag:yaml.org,2002:str")
        {
            return scalar.Value ?? string.Empty;
        }

        if (scalar.Tag.Value == "!Ref")
        {
            return references.TryGetValue(scalar.Value!, out var resolved)
                ? resolved
                : throw new InvalidOperationException($"{logicalId}'s {name} is !Ref {scalar.Value}, which the caller did not resolve.");
        }

        if (scalar.Tag.Value == "!Sub")
        {
            return SubstitutionPattern().Replace(scalar.Value ?? string.Empty, match => references.TryGetValue(match.Groups[1].Value, out var resolved)
                ? resolved
                : throw new InvalidOperationException($"{logicalId}'s {name} substitutes ${{{match.Groups[1].Value}}}, which the caller did not resolve."));
        }

        throw new InvalidOperationException($"{logicalId}'s {name} uses {scalar.Tag.Value}, which is not resolved here.");
    }

    private static string? TagOf(YamlNode node) => node.Tag.IsEmpty || node.Tag.IsNonSpecific ? null : node.Tag.Value;

    [System.Text.RegularExpressions.GeneratedRegex(@"\$\{([A-Za-z0-9:]+)\}", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex SubstitutionPattern();

    private static YamlNode? Path(YamlMappingNode root, params string[] keys)
    {
        YamlNode? node = root;
        foreach (var key in keys)
        {
            node = node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;
        }

        return node;
    }
}
