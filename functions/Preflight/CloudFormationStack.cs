using System.Net.Http.Headers;
using System.Text;
using System.Xml.Linq;
using Monetization.Aws;
using Monetization.Aws.Http;

namespace Monetization.Preflight;

/// <summary>
/// A deployed stack's parameters and outputs, read with CloudFormation's <c>DescribeStacks</c> (query protocol,
/// version 2010-05-15), so the owner can name the stack instead of copying each value.
/// </summary>
public sealed class CloudFormationStack(HttpClient http)
{
    public static AwsService Service { get; } = new("cloudformation", "CLOUDFORMATION", "cloudformation");

    private static readonly XNamespace Ns = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

    /// <returns>The stack's parameters and outputs by key (outputs win on a shared key).</returns>
    public async Task<IReadOnlyDictionary<string, string>> DescribeAsync(string stackName, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(stackName);
        var form = $"Action=DescribeStacks&Version=2010-05-15&StackName={Uri.EscapeDataString(stackName)}";
        using var request = new HttpRequestMessage(HttpMethod.Post, http.BaseAddress)
        {
            Content = new StringContent(form, Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded") { CharSet = "utf-8" };
        using var response = await http.SendAsync(request, cancellationToken);
        var document = XDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        if (!response.IsSuccessStatusCode)
        {
            var error = document.Descendants().FirstOrDefault(e => e.Name.LocalName == "Error");
            var code = error?.Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value ?? "Unknown";
            var message = error?.Elements().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value;
            throw new AwsServiceException($"cloudformation DescribeStacks failed with {(int)response.StatusCode} {code}: {message}");
        }

        var stack = document.Descendants(Ns + "Stacks").Elements(Ns + "member").FirstOrDefault()
            ?? throw new AwsServiceException($"cloudformation DescribeStacks returned no stack {stackName}.");
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var parameter in stack.Elements(Ns + "Parameters").Elements(Ns + "member"))
        {
            values[(string?)parameter.Element(Ns + "ParameterKey") ?? string.Empty] = (string?)parameter.Element(Ns + "ParameterValue") ?? string.Empty;
        }

        foreach (var output in stack.Elements(Ns + "Outputs").Elements(Ns + "member"))
        {
            values[(string?)output.Element(Ns + "OutputKey") ?? string.Empty] = (string?)output.Element(Ns + "OutputValue") ?? string.Empty;
        }

        return values;
    }

    /// <summary>The check's flags the stack answers, by the template's parameter and output names.</summary>
    public static IReadOnlyDictionary<string, string> ToFlags(IReadOnlyDictionary<string, string> stack)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        void Take(string flag, string key)
        {
            if (stack.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value))
            {
                flags[flag] = value.Trim();
            }
        }

        Take("api-id", "MonetizedApiId");
        Take("stage", "MonetizedApiStage");
        Take("stripe-plan", "StripeUsagePlanId");
        Take("free-plan", "FreeUsagePlanId");
        Take("secret-arn", "StripeSecretArn");
        Take("price", "StripePriceId");
        Take("meter-event-name", "StripeMeterEventName");
        Take("portal-url", "PortalUrl");
        Take("product-code", "MarketplaceProductCode");
        Take("email-sender", "EmailSenderAddress");
        Take("email-configuration-set", "EmailConfigurationSet");

        // The Marketplace plan exists in every stack; it is checked only when the stack sells there.
        if (flags.ContainsKey("product-code"))
        {
            Take("marketplace-plan", "MarketplaceUsagePlanId");
        }

        return flags;
    }
}
