using Amazon.Runtime;

namespace Monetization.Aws;

/// <summary>The region from the standard settings: <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, then the shared profile.</summary>
public static class AwsRegion
{
    public static string? Resolve(Func<string, string?> variables) =>
        Resolve(variables, static () => FallbackRegionFactory.GetRegionEndpoint(includeInstanceMetadata: false)?.SystemName);

    public static string? Resolve(Func<string, string?> variables, Func<string?> profileRegion)
    {
        ArgumentNullException.ThrowIfNull(variables);
        ArgumentNullException.ThrowIfNull(profileRegion);
        foreach (var name in new[] { "AWS_REGION", "AWS_DEFAULT_REGION" })
        {
            var value = variables(name);
            if (!string.IsNullOrWhiteSpace(value))
            {
                return value.Trim();
            }
        }

        var fromProfile = profileRegion();
        return string.IsNullOrWhiteSpace(fromProfile) ? null : fromProfile;
    }
}
