using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Email;
using Monetization.Aws.Http;
using Monetization.Aws.Secrets;
using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Stripe;
using Monetization.Stripe.Webhooks;
using Stripe;
using Stripe.Billing;

namespace Monetization.Preflight;

/// <summary>
/// Reads a deployed setup and lists what would stop it selling: API Gateway's side of the Marketplace integration
/// (key source, keys required, plan product code), the Stripe secret, price and meter, the SES sender the sign-in mail
/// goes out from (and whether the account is still in the SES sandbox), and the subscription URL.
/// Every problem comes with a command that fixes it; secret values are read but never shown.
/// </summary>
public sealed partial class SetupChecks(ApiGatewayClient apiGateway, SecretsManagerClient secrets, Func<Secret, StripeClient> stripeFor, SesClient ses, HttpClient web)
{
    public async Task<SetupReport> RunAsync(StackSettings stack, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stack);
        var problems = new List<SetupProblem>();
        await CheckApiAsync(stack, problems, cancellationToken);
        await CheckUsagePlansAsync(stack, problems, cancellationToken);
        var keys = await CheckKeyHeadroomAsync(stack, problems, cancellationToken);
        var stripeKey = await CheckSecretAsync(stack, problems, cancellationToken);
        if (stripeKey is not null)
        {
            var stripe = stripeFor(stripeKey);
            if (await CheckPriceAsync(stack, stripe, problems, cancellationToken))
            {
                await CheckWebhookEndpointAsync(stack, stripe, problems, cancellationToken);
            }
        }

        await CheckEmailAsync(stack, problems, cancellationToken);
        await CheckSubscriptionUrlAsync(stack, problems, cancellationToken);
        return new SetupReport(problems, keys);
    }

    /// <summary>
    /// API Gateway allows <see cref="ApiKeyAccess.AccountKeyLimit"/> API keys per account and region, for every API of
    /// the account, and the limit cannot be raised: every subscriber needs one, so the headroom is how many more can
    /// sign up. From 80% on it is a problem (the stack's alarm fires there too).
    /// </summary>
    /// <returns>The keys the account holds, or null when they could not be listed.</returns>
    private async Task<int?> CheckKeyHeadroomAsync(StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        int keys;
        try
        {
            keys = (await apiGateway.GetApiKeysAsync(new GetApiKeysRequest(), cancellationToken)).Count;
        }
        catch (AwsServiceException e)
        {
            problems.Add(new("api-keys", $"The account's API keys could not be listed in {stack.Region} ({e.Kind}), so their headroom is unknown.", $"aws apigateway get-api-keys --region {Shell.Quote(stack.Region)} --query 'length(items)'"));
            return null;
        }

        if (keys >= ApiKeyAccess.AccountKeyLimit * 8 / 10)
        {
            problems.Add(new(
                "api-keys",
                $"The account holds {keys} of the {ApiKeyAccess.AccountKeyLimit} API keys API Gateway allows in {stack.Region} (every API's, and the limit cannot be raised); at the limit no new subscriber gets a key. " +
                "Keys of ended subscriptions are deleted after EndedKeyRetentionDays; a shorter retention frees places sooner, and keys of other APIs count too.",
                SamDeploy(stack, "EndedKeyRetentionDays", "7")));
        }

        return keys;
    }

    /// <summary>
    /// SES sends only from a verified identity (the address, or its domain) and, while the account is in the SES
    /// sandbox, only to verified recipients: people who sign up would get no sign-in link.
    /// </summary>
    private async Task CheckEmailAsync(StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        var region = Shell.Quote(stack.Region);
        if (!SenderAddress.TryParse(stack.EmailSender, out var sender, out _))
        {
            problems.Add(new("email-sender", $"The sender {stack.EmailSender} is not an e-mail address.", SamDeploy(stack, "EmailSenderAddress", "<no-reply@your domain>")));
            return;
        }

        try
        {
            var address = await ses.GetEmailIdentityAsync(sender.Address, cancellationToken);
            var domain = address?.IsVerified == true ? null : await ses.GetEmailIdentityAsync(sender.Domain, cancellationToken);
            if (address?.IsVerified != true && domain?.IsVerified != true)
            {
                // The identity an owner started verifying, the address before its domain.
                var (name, started) = address is not null ? (sender.Address, address) : (sender.Domain, domain);
                problems.Add(started is null
                    ? new(
                        "email-sender",
                        $"The sender {sender.Address} is not an SES identity in {stack.Region}, nor is its domain {sender.Domain}, so SES refuses every e-mail the Portal sends (sign-in links). " +
                        "Creating the address identity mails it a verification link; a domain identity (create-email-identity with the domain) is verified by the DKIM records it prints.",
                        $"aws sesv2 create-email-identity --email-identity {Shell.Quote(sender.Address)} --region {region}")
                    : new(
                        "email-sender",
                        $"The SES identity {name} the Portal sends from ({sender.Address}) is not verified in {stack.Region} (status {started.VerificationStatus ?? "unknown"}), so SES refuses every e-mail the Portal sends. " +
                        (started.IdentityType == "DOMAIN" ? "Publish the DKIM CNAME records it lists." : "Open the link SES mailed to the address."),
                        $"aws sesv2 get-email-identity --email-identity {Shell.Quote(name)} --region {region}"));
            }

            if (stack.EmailConfigurationSet is { Length: > 0 } set && await ses.GetConfigurationSetAsync(set, cancellationToken) is null)
            {
                problems.Add(new(
                    "email-configuration-set",
                    $"The SES configuration set {set} the Portal sends with does not exist in {stack.Region}, so SES refuses every e-mail.",
                    $"aws sesv2 create-configuration-set --configuration-set-name {Shell.Quote(set)} --region {region}"));
            }
        }
        catch (Exception e) when (e is AwsServiceException or DependencyUnavailableException)
        {
            problems.Add(new("email-sender", $"The SES identity {sender.Address} could not be read: {e.Message}", $"aws sesv2 get-email-identity --email-identity {Shell.Quote(sender.Address)} --region {region}"));
        }

        SesAccount account;
        try
        {
            account = await ses.GetAccountAsync(cancellationToken);
        }
        catch (Exception e) when (e is AwsServiceException or DependencyUnavailableException)
        {
            problems.Add(new("ses-account", $"The SES account in {stack.Region} could not be read (GetAccount): {e.Message}", $"aws sesv2 get-account --region {region}"));
            return;
        }

        if (!account.ProductionAccessEnabled)
        {
            problems.Add(new(
                "ses-sandbox",
                $"The SES account is in the SES sandbox in {stack.Region}: only verified recipients receive mail " +
                $"({account.SendQuota?.Max24HourSend.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "200"} messages a day at most), " +
                "so people who sign up get no sign-in link. Request production access (AWS reviews the request, usually within a day).",
                $"aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL --website-url {Shell.Quote(stack.PortalUrl.AbsoluteUri)} " +
                $"--use-case-description '<who gets mail: sign-in links to people who sign up for the API, one per request>' --region {region}"));
        }

        if (!account.SendingEnabled)
        {
            problems.Add(new(
                "ses-sending",
                $"Sending is paused for the SES account in {stack.Region} (enforcement status {account.EnforcementStatus ?? "unknown"}), so SES refuses every e-mail.",
                $"aws sesv2 put-account-sending-attributes --sending-enabled --region {region}"));
        }
    }

    private async Task CheckApiAsync(StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        var region = Shell.Quote(stack.Region);
        var api = Shell.Quote(stack.ApiId);
        RestApi restApi;
        try
        {
            restApi = await apiGateway.GetRestApiAsync(stack.ApiId, cancellationToken);
        }
        catch (AwsServiceException e)
        {
            problems.Add(new("api", $"The REST API {stack.ApiId} could not be read: {e.Message}", $"aws apigateway get-rest-apis --region {region} --query 'items[].[id,name]'"));
            return;
        }

        if (!string.Equals(restApi.ApiKeySource, "HEADER", StringComparison.Ordinal))
        {
            problems.Add(new(
                "api-key-source",
                $"The REST API {stack.ApiId} takes API keys from {restApi.ApiKeySource ?? "nowhere"}; API Gateway meters Marketplace buyers only by the x-api-key header.",
                $"aws apigateway update-rest-api --rest-api-id {api} --patch-operations op=replace,path=/apiKeySource,value=HEADER --region {region}"));
        }

        var redeploy = $"aws apigateway create-deployment --rest-api-id {api} --stage-name {Shell.Quote(stack.Stage)} --region {region}";
        try
        {
            await apiGateway.GetStageAsync(stack.ApiId, stack.Stage, cancellationToken);
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            problems.Add(new("stage", $"The REST API {stack.ApiId} has no stage {stack.Stage}; the usage plans cover that stage only.", redeploy));
        }

        foreach (var resource in await apiGateway.GetResourcesAsync(stack.ApiId, cancellationToken))
        {
            foreach (var (verb, method) in resource.ResourceMethods ?? new Dictionary<string, ApiMethod>())
            {
                // A CORS preflight cannot carry a key, so OPTIONS stays open.
                if (verb == "OPTIONS" || method.ApiKeyRequired == true)
                {
                    continue;
                }

                problems.Add(new(
                    "api-key-required",
                    $"{verb} {resource.Path} on {stack.ApiId} does not require an API key, so calls to it are neither limited by the usage plans nor metered.",
                    $"aws apigateway update-method --rest-api-id {api} --resource-id {Shell.Quote(resource.Id)} --http-method {verb} " +
                    $"--patch-operations op=replace,path=/apiKeyRequired,value=true --region {region} && {redeploy}"));
            }
        }
    }

    private async Task CheckUsagePlansAsync(StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        await ReadPlanAsync(stack.StripePlanId, "stripe-plan", stack, problems, cancellationToken);
        if (stack.FreePlanId is { } freePlanId)
        {
            if (string.Equals(freePlanId, stack.StripePlanId, StringComparison.Ordinal))
            {
                problems.Add(new(
                    "free-plan",
                    $"The free plan's usage plan {freePlanId} is the paid plan: what the free plan serves is never billed, so it needs a plan of its own.",
                    SamDeploy(stack, "FreePlanMonthlyQuota", "<requests a month>")));
            }
            else if (await ReadPlanAsync(freePlanId, "free-plan", stack, problems, cancellationToken) is { Quota: null or { Limit: <= 0 } })
            {
                problems.Add(new(
                    "free-plan",
                    $"The free plan's usage plan {freePlanId} has no quota, so free keys may call the API without limit and nothing of it is billed.",
                    $"aws apigateway update-usage-plan --usage-plan-id {Shell.Quote(freePlanId)} --patch-operations op=replace,path=/quota/limit,value=1000 op=replace,path=/quota/period,value=MONTH --region {Shell.Quote(stack.Region)}"));
            }
        }

        if (stack.MarketplacePlanId is not { } marketplacePlanId || stack.ProductCode is not { } productCode)
        {
            return;
        }

        var plan = await ReadPlanAsync(marketplacePlanId, "marketplace-plan", stack, problems, cancellationToken);
        if (plan is not null && !string.Equals(plan.ProductCode, productCode, StringComparison.Ordinal))
        {
            problems.Add(new(
                "product-code",
                plan.ProductCode is null
                    ? $"The Marketplace usage plan {marketplacePlanId} carries no product code, so API Gateway does not meter its keys to Marketplace."
                    : $"The Marketplace usage plan {marketplacePlanId} carries product code {plan.ProductCode}, not {productCode}.",
                LinkProductCode.CliCommand(marketplacePlanId, productCode, stack.Region)));
        }
    }

    private async Task<UsagePlan?> ReadPlanAsync(string planId, string check, StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        try
        {
            return await apiGateway.GetUsagePlanAsync(planId, cancellationToken);
        }
        catch (AwsServiceException e)
        {
            problems.Add(new(
                check,
                $"The usage plan {planId} could not be read: {e.Message}",
                $"aws cloudformation describe-stacks --stack-name {Shell.Quote(stack.StackName ?? "<stack>")} --region {Shell.Quote(stack.Region)} --query 'Stacks[0].Outputs'"));
            return null;
        }
    }

    /// <returns>The Stripe secret key when the secret is usable, so the Stripe checks can run.</returns>
    private async Task<Secret?> CheckSecretAsync(StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        var fix = PutStripeSecret(stack);
        Secret secret;
        try
        {
            secret = await secrets.GetSecretStringAsync(stack.SecretArn, cancellationToken);
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            problems.Add(new(
                "stripe-secret",
                $"The Stripe secret {stack.SecretArn} does not exist, so the Portal cannot start.",
                "aws secretsmanager create-secret --name monetization/stripe " + StripeSecretString + $" --region {Shell.Quote(stack.Region)} && " +
                SamDeploy(stack, "StripeSecretArn", "<the ARN it printed>")));
            return null;
        }
        catch (AwsServiceException e)
        {
            problems.Add(new("stripe-secret", $"The Stripe secret {stack.SecretArn} could not be read: {e.Message}", fix));
            return null;
        }

        var fields = ReadFields(secret);
        var missing = new[] { "SecretKey", "WebhookSecret" }.Where(name => !fields.TryGetValue(name, out var value) || value.Length == 0).ToList();
        if (missing.Count > 0)
        {
            problems.Add(new(
                "stripe-secret",
                $"The Stripe secret {stack.SecretArn} " + (fields.Count == 0 ? "is not a JSON object of strings" : $"has no {string.Join(" and no ", missing)}") + ".",
                fix));
            return null;
        }

        return new Secret(fields["SecretKey"]);
    }

    private const string StripeSecretString = """--secret-string '{"SecretKey":"<sk_live_...>","WebhookSecret":"<whsec_...>"}'""";

    private static string PutStripeSecret(StackSettings stack) =>
        $"aws secretsmanager put-secret-value --secret-id {Shell.Quote(stack.SecretArn)} {StripeSecretString} --region {Shell.Quote(stack.Region)}";

    private static Dictionary<string, string> ReadFields(Secret secret)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(secret.Reveal());
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in document.RootElement.EnumerateObject().Where(f => f.Value.ValueKind == JsonValueKind.String))
                {
                    fields[field.Name] = field.Value.GetString()!;
                }
            }
        }
        catch (JsonException)
        {
            // Reported as "not a JSON object" without the secret's text.
        }

        return fields;
    }

    /// <returns>False when Stripe refused the key, so no other Stripe check can say anything.</returns>
    private static async Task<bool> CheckPriceAsync(StackSettings stack, StripeClient stripe, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        var newPrice = "curl https://api.stripe.com/v1/prices -u \"$STRIPE_SECRET_KEY:\" -d product=<prod_...> -d currency=usd " +
            "-d unit_amount_decimal=<price per request> -d 'recurring[interval]=month' -d 'recurring[usage_type]=metered' " +
            "-d 'recurring[meter]=<mtr_...>' && " + SamDeploy(stack, "StripePriceId", "<price_... it printed>");
        Price price;
        try
        {
            price = await stripe.V1.Prices.GetAsync(stack.PriceId, null, null, cancellationToken);
        }
        catch (StripeKeyRejectedException e)
        {
            problems.Add(new("stripe-secret", $"Stripe does not accept the SecretKey in {stack.SecretArn}: {e.Message}", PutStripeSecret(stack)));
            return false;
        }
        catch (Exception e) when (e is StripeException or DependencyUnavailableException)
        {
            problems.Add(new("stripe-price", $"The Stripe price {stack.PriceId} could not be read: {e.Message}", newPrice));
            return true;
        }

        if (price.Recurring is not { UsageType: "metered", Meter: { Length: > 0 } meterId })
        {
            problems.Add(new(
                "stripe-price",
                $"The Stripe price {stack.PriceId} is not a metered price on a billing meter (recurring.usage_type={price.Recurring?.UsageType ?? "none"}, recurring.meter={price.Recurring?.Meter ?? "none"}); usage reported to the meter would never be billed.",
                newPrice.Replace("<prod_...>", Shell.Quote(price.ProductId ?? "<prod_...>"), StringComparison.Ordinal)));
            return true;
        }

        if (price.BillingScheme != "per_unit" || price.UnitAmountDecimal is null)
        {
            problems.Add(new(
                "stripe-price",
                $"The Stripe price {stack.PriceId} is not priced per unit (billing_scheme={price.BillingScheme}); requests served after a subscription was canceled are billed as invoice items at the price's unit amount, which a tiered price does not have.",
                newPrice.Replace("<prod_...>", Shell.Quote(price.ProductId ?? "<prod_...>"), StringComparison.Ordinal)
                    .Replace("<mtr_...>", Shell.Quote(meterId), StringComparison.Ordinal)));
            return true;
        }

        Meter meter;
        try
        {
            meter = await stripe.V1.Billing.Meters.GetAsync(meterId, null, null, cancellationToken);
        }
        catch (Exception e) when (e is StripeException or DependencyUnavailableException)
        {
            problems.Add(new("stripe-meter", $"The billing meter {meterId} of price {stack.PriceId} could not be read: {e.Message}", newPrice));
            return true;
        }

        if (!string.Equals(meter.EventName, stack.MeterEventName, StringComparison.Ordinal))
        {
            problems.Add(new(
                "stripe-meter",
                $"The billing meter {meterId} behind price {stack.PriceId} counts events named {meter.EventName}, but the stack reports usage as {stack.MeterEventName}.",
                SamDeploy(stack, "StripeMeterEventName", meter.EventName ?? "<event_name>")));
        }

        return true;
    }

    /// <summary>
    /// The endpoint at the Portal's <c>/stripe/webhook</c>: enabled, at the API version the Portal reads events at (Stripe
    /// writes each endpoint's events at the version it was created with, and that cannot be changed afterwards), and
    /// sending every event the Portal acts on.
    /// </summary>
    private static async Task CheckWebhookEndpointAsync(StackSettings stack, StripeClient stripe, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        var url = stack.StripeWebhookUrl.AbsoluteUri;
        var create = "curl https://api.stripe.com/v1/webhook_endpoints -u \"$STRIPE_SECRET_KEY:\" " +
            $"-d url={Shell.Quote(url)} -d api_version={StripeWebhookVerifier.ApiVersion} " +
            string.Join(' ', StripeWebhookEvents.Required.Select(e => $"-d 'enabled_events[]={e}'")) +
            " && " + PutStripeSecret(stack).Replace("<whsec_...>", "<the secret it printed>", StringComparison.Ordinal);
        List<WebhookEndpoint> endpoints = [];
        try
        {
            var options = new WebhookEndpointListOptions { Limit = 100 };
            await foreach (var endpoint in stripe.V1.WebhookEndpoints.ListAutoPagingAsync(options, null, cancellationToken))
            {
                if (string.Equals(endpoint.Url, url, StringComparison.Ordinal))
                {
                    endpoints.Add(endpoint);
                }
            }
        }
        catch (Exception e) when (e is StripeException or DependencyUnavailableException or StripeKeyRejectedException)
        {
            problems.Add(new("stripe-webhook", $"Stripe's webhook endpoints could not be read: {e.Message}", "curl https://api.stripe.com/v1/webhook_endpoints -u \"$STRIPE_SECRET_KEY:\""));
            return;
        }

        var live = endpoints.Where(e => e.Status == "enabled").ToList();
        if (live.Count == 0)
        {
            problems.Add(new(
                "stripe-webhook",
                endpoints.Count == 0
                    ? $"No Stripe webhook endpoint sends events to {url}, so no payment or cancellation reaches the Portal."
                    : $"The Stripe webhook endpoint {endpoints[0].Id} at {url} is disabled, so no payment or cancellation reaches the Portal.",
                endpoints.Count == 0 ? create : $"curl https://api.stripe.com/v1/webhook_endpoints/{endpoints[0].Id} -u \"$STRIPE_SECRET_KEY:\" -d disabled=false"));
            return;
        }

        foreach (var endpoint in live)
        {
            if (endpoint.ApiVersion is not { } version || !EventUtility.IsCompatibleApiVersion(version))
            {
                problems.Add(new(
                    "stripe-webhook-version",
                    $"The Stripe webhook endpoint {endpoint.Id} writes events at API version {endpoint.ApiVersion ?? "the account default"}; the Portal reads {StripeWebhookVerifier.ApiVersion} and answers other versions 400. An endpoint's version is fixed when it is created: create one at {StripeWebhookVerifier.ApiVersion}, put its secret into the Stripe secret, then delete {endpoint.Id}.",
                    create + $" && curl -X DELETE https://api.stripe.com/v1/webhook_endpoints/{endpoint.Id} -u \"$STRIPE_SECRET_KEY:\""));
            }

            var enabled = endpoint.EnabledEvents ?? [];
            var missing = enabled.Contains("*") ? [] : StripeWebhookEvents.Required.Except(enabled, StringComparer.Ordinal).ToList();
            if (missing.Count > 0)
            {
                problems.Add(new(
                    "stripe-webhook-events",
                    $"The Stripe webhook endpoint {endpoint.Id} does not send {string.Join(", ", missing)}, which the Portal acts on.",
                    $"curl https://api.stripe.com/v1/webhook_endpoints/{endpoint.Id} -u \"$STRIPE_SECRET_KEY:\" " +
                    string.Join(' ', enabled.Union(StripeWebhookEvents.Required, StringComparer.Ordinal).Select(e => $"-d 'enabled_events[]={e}'"))));
            }
        }
    }

    private async Task CheckSubscriptionUrlAsync(StackSettings stack, List<SetupProblem> problems, CancellationToken cancellationToken)
    {
        var url = stack.SubscriptionUrl;
        var logs = $"sam logs --stack-name {Shell.Quote(stack.StackName ?? "<stack>")} --name PortalFunction --region {Shell.Quote(stack.Region)} --start-time '15 min ago'";
        string? answer;
        try
        {
            using var response = await web.GetAsync(url, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);

            // Without a token the Portal answers its own "did not receive your registration" page.
            answer = response.StatusCode == HttpStatusCode.BadRequest && MissingTokenPage().IsMatch(body)
                ? null
                : $"answered {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (HttpRequestException e)
        {
            answer = $"could not be reached ({e.Message})";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            answer = "did not answer in time";
        }

        if (answer is not null)
        {
            problems.Add(new(
                "subscription-url",
                $"The subscription URL {url} {answer} to a GET without a token; it should show the Portal's missing-registration page (400). Marketplace buyers would land on an error.",
                logs));
        }
    }

    private static string SamDeploy(StackSettings stack, string parameter, string value) =>
        $"sam deploy --stack-name {Shell.Quote(stack.StackName ?? "<stack>")} --region {Shell.Quote(stack.Region)} --parameter-overrides {parameter}={Shell.Quote(value)}";

    [GeneratedRegex("Subscribe through AWS Marketplace", RegexOptions.CultureInvariant)]
    private static partial Regex MissingTokenPage();
}
