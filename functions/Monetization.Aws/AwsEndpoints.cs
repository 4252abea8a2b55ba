namespace Monetization.Aws;

/// <summary>
/// Where a service is reached, following the SDKs' shared settings: a service-specific <c>AWS_ENDPOINT_URL_*</c>,
/// then the global <c>AWS_ENDPOINT_URL</c>, then the public regional endpoint. <c>AWS_IGNORE_CONFIGURED_ENDPOINT_URLS</c>
/// switches the overrides off, as it does for the AWS SDKs and CLI.
/// </summary>
public static class AwsEndpoints
{
    public const string GlobalVariable = "AWS_ENDPOINT_URL";
    public const string IgnoreVariable = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

    public static string VariableFor(AwsService service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return $"{GlobalVariable}_{service.EndpointVariableSuffix}";
    }

    public static Uri Resolve(AwsService service, string region, Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        ArgumentNullException.ThrowIfNull(variables);

        if (!string.Equals(variables(IgnoreVariable)?.Trim(), "true", StringComparison.OrdinalIgnoreCase))
        {
            foreach (var name in new[] { VariableFor(service), GlobalVariable })
            {
                var value = variables(name);
                if (!string.IsNullOrWhiteSpace(value))
                {
                    return Parse(name, value.Trim());
                }
            }
        }

        var domain = region.StartsWith("cn-", StringComparison.Ordinal) ? "amazonaws.com.cn" : "amazonaws.com";
        return new Uri($"https://{service.HostPrefix}.{region}.{domain}");
    }

    private static Uri Parse(string name, string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : throw new InvalidOperationException($"{name} must be an absolute http(s) URL; it is '{value}'.");
}
