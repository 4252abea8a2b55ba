using Monetization.Aws.Email;

namespace Monetization.Preflight;

/// <summary>The command line: <c>--name value</c> pairs, every name known, the required ones present.</summary>
public static class PreflightArguments
{
    public const string Usage = """
        usage: Preflight check --region R --api-id ID --stage S --stripe-plan ID --secret-arn ARN --price price_...
                               --meter-event-name NAME --portal-url URL --email-sender ADDRESS
                               [--email-configuration-set NAME] [--free-plan ID] [--marketplace-plan ID --product-code CODE]
                               [--endpoint-url URL] [--stripe-api-base URL]
               Preflight check --region R --stack NAME [any flag above, to override the stack's value]
               Preflight link-product-code --region R --marketplace-plan ID --product-code CODE [--endpoint-url URL]

        check              reads the deployed setup and prints each problem with the command that fixes it
                           (exit 0 clean, 1 problems found, 2 usage error)
        link-product-code  sets the Marketplace usage plan's productCode (CloudFormation has no property for it)
        --endpoint-url     send every AWS call to this endpoint (an emulator) instead of the regional one
        --stripe-api-base  Stripe's API base (an emulator); https://api.stripe.com otherwise
        --stack            read the values from the stack's parameters and outputs (CloudFormation DescribeStacks)
        --email-sender     the address the Portal mails from (parameter EmailSenderAddress), checked as an SES identity
        --free-plan        the free plan's usage plan (output FreeUsagePlanId), checked to exist with a quota of its own
        The values are the stack's parameters and outputs (PortalUrl, StripeUsagePlanId, FreeUsagePlanId, MarketplaceUsagePlanId).
        """;

    private static readonly string[] CheckNames =
    [
        "region", "api-id", "stage", "stripe-plan", "free-plan", "marketplace-plan", "product-code", "secret-arn", "price",
        "meter-event-name", "portal-url", "endpoint-url", "stripe-api-base", "stack", "email-sender", "email-configuration-set",
    ];

    private static readonly string[] LinkNames = ["region", "marketplace-plan", "product-code", "endpoint-url"];

    /// <returns>The flags by name, well-formed but maybe incomplete until a stack's values are added, or why they are not usable.</returns>
    public static (IReadOnlyDictionary<string, string>? Flags, string? Error) Parse(IReadOnlyList<string> args, bool forLink)
    {
        ArgumentNullException.ThrowIfNull(args);
        var known = forLink ? LinkNames : CheckNames;
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || !known.Contains(arg[2..]))
            {
                return (null, $"unknown argument '{arg}'");
            }

            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal) || string.IsNullOrWhiteSpace(args[i + 1]))
            {
                return (null, $"{arg} needs a value");
            }

            if (!flags.TryAdd(arg[2..], args[++i].Trim()))
            {
                return (null, $"{arg} is given twice");
            }
        }

        if (flags.ContainsKey("stack"))
        {
            return flags.ContainsKey("region") ? (flags, null) : (null, "missing --region");
        }

        return Complete(flags, forLink);
    }

    /// <summary>Adds the values a stack answers beneath the flags given, then checks the whole set.</summary>
    public static (IReadOnlyDictionary<string, string>? Flags, string? Error) WithStack(IReadOnlyDictionary<string, string> flags, IReadOnlyDictionary<string, string> fromStack)
    {
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(fromStack);
        var merged = new Dictionary<string, string>(fromStack, StringComparer.Ordinal);
        foreach (var (name, value) in flags)
        {
            merged[name] = value;
        }

        return Complete(merged, forLink: false);
    }

    private static (IReadOnlyDictionary<string, string>? Flags, string? Error) Complete(Dictionary<string, string> flags, bool forLink)
    {
        string[] required = forLink
            ? ["region", "marketplace-plan", "product-code"]
            : ["region", "api-id", "stage", "stripe-plan", "secret-arn", "price", "meter-event-name", "portal-url", "email-sender"];
        var missing = required.Where(name => !flags.ContainsKey(name)).ToList();
        if (missing.Count > 0)
        {
            return (null, "missing " + string.Join(", ", missing.Select(name => "--" + name)));
        }

        if (flags.ContainsKey("product-code") != flags.ContainsKey("marketplace-plan"))
        {
            return (null, "--product-code and --marketplace-plan go together (a stack sells on Marketplace with both)");
        }

        foreach (var name in new[] { "portal-url", "endpoint-url", "stripe-api-base" })
        {
            if (flags.TryGetValue(name, out var value) && !IsHttpUrl(value))
            {
                return (null, $"--{name} must be an absolute http(s) URL");
            }
        }

        if (flags.TryGetValue("email-sender", out var sender) && (!SenderAddress.TryParse(sender, out var parsed, out _) || parsed.DisplayName is not null))
        {
            return (null, "--email-sender must be a plain e-mail address (the EmailSenderAddress parameter), without a display name");
        }

        return (flags, null);
    }

    public static StackSettings ToSettings(IReadOnlyDictionary<string, string> flags)
    {
        ArgumentNullException.ThrowIfNull(flags);
        var portal = flags["portal-url"];
        return new StackSettings
        {
            Region = flags["region"],
            ApiId = flags["api-id"],
            Stage = flags["stage"],
            StripePlanId = flags["stripe-plan"],
            FreePlanId = flags.GetValueOrDefault("free-plan"),
            MarketplacePlanId = flags.GetValueOrDefault("marketplace-plan"),
            ProductCode = flags.GetValueOrDefault("product-code"),
            SecretArn = flags["secret-arn"],
            PriceId = flags["price"],
            MeterEventName = flags["meter-event-name"],
            EmailSender = flags["email-sender"],
            EmailConfigurationSet = flags.GetValueOrDefault("email-configuration-set"),

            // The stack's PortalUrl output ends in '/'; the subscription URL is resolved under it either way.
            PortalUrl = new Uri(portal.EndsWith('/') ? portal : portal + "/"),
            StackName = flags.GetValueOrDefault("stack"),
            AwsEndpointUrl = flags.TryGetValue("endpoint-url", out var endpoint) ? new Uri(endpoint) : null,
            StripeApiBase = flags.TryGetValue("stripe-api-base", out var stripe) ? new Uri(stripe) : new Uri("https://api.stripe.com"),
        };
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}
