using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Monetization.Emulators;
using Monetization.Preflight;
using Monetization.Stripe.Webhooks;

namespace Monetization.Tests.Preflight;

/// <summary>Each test breaks one part of an otherwise clean seller setup and expects exactly that problem, with its fix.</summary>
public sealed partial class PreflightTests(PreflightFixture world) : IClassFixture<PreflightFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CleanSetupReportsNoProblemAndExitsZero()
    {
        var setup = await world.CleanSetupAsync();

        var (exit, output, error) = await world.CheckAsync(setup);

        Assert.True(exit == PreflightCommand.Clean, output + error);
        Assert.DoesNotContain("PROBLEM", output, StringComparison.Ordinal);
        Assert.Contains("no problems found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheHeadroomUnderTheAccountsTenThousandKeysIsPrinted()
    {
        var setup = await world.CleanSetupAsync();
        using var http = world.Environment.ApiGatewayHttp();
        using (await http.PostAsync(new Uri(http.BaseAddress!, "/apikeys"), new StringContent("""{"name":"another-api","enabled":true}""", System.Text.Encoding.UTF8, "application/json"), Ct))
        {
        }

        var held = (await world.Environment.ApiKeysAsync(Ct)).Count;
        var (exit, output, error) = await world.CheckAsync(setup);

        Assert.True(exit == PreflightCommand.Clean, output + error);
        Assert.Contains($"api keys: {held} of 10000 in us-east-1 ({10_000 - held} more subscribers can get one)", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LinkProductCodePutsTheProductCodeOnTheMarketplacePlan()
    {
        var setup = await world.CleanSetupAsync();

        using var http = world.Environment.ApiGatewayHttp();
        using var response = await http.GetAsync(new Uri(http.BaseAddress!, $"/usageplans/{setup.MarketplacePlanId}"), Ct);
        var plan = await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content, Ct);

        Assert.Equal(SellerSetup.ProductCode, plan.GetProperty("productCode").GetString());
    }

    [Fact]
    public async Task AFreePlanWithoutAQuotaIsReportedAndItsFixGivesItOne()
    {
        var setup = await world.CleanSetupAsync();
        string unlimited;
        using (var http = world.Environment.ApiGatewayHttp())
        {
            unlimited = (await PreflightFixture.PostAsync(http, "/usageplans", new { name = "seller-free-unlimited" })).GetProperty("id").GetString()!;
        }

        var fix = await OnlyProblemAsync(setup with { FreePlanId = unlimited }, "free-plan");

        Assert.Equal(
            $"aws apigateway update-usage-plan --usage-plan-id {unlimited} --patch-operations op=replace,path=/quota/limit,value=1000 op=replace,path=/quota/period,value=MONTH --region us-east-1",
            fix);
        await world.ApplyAwsFixAsync(fix);
        Assert.Equal(PreflightCommand.Clean, (await world.CheckAsync(setup with { FreePlanId = unlimited })).Exit);
    }

    [Fact]
    public async Task AFreePlanThatIsThePaidPlanIsReported()
    {
        var setup = await world.CleanSetupAsync();

        var fix = await OnlyProblemAsync(setup with { FreePlanId = setup.StripePlanId }, "free-plan");

        Assert.Contains("FreePlanMonthlyQuota", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MarketplacePlanWithoutTheProductCodeIsReportedAndItsFixLinksIt()
    {
        var setup = await world.CleanSetupAsync();
        using (var http = world.Environment.ApiGatewayHttp())
        {
            await PreflightFixture.PatchAsync(http, $"/usageplans/{setup.MarketplacePlanId}", "remove", "/productCode", string.Empty);
        }

        var fix = await OnlyProblemAsync(setup, "product-code");

        Assert.Equal(
            $"aws apigateway update-usage-plan --usage-plan-id {setup.MarketplacePlanId} --patch-operations op=replace,path=/productCode,value={SellerSetup.ProductCode} --region us-east-1",
            fix);
        await world.ApplyAwsFixAsync(fix);
        Assert.Equal(PreflightCommand.Clean, (await world.CheckAsync(setup)).Exit);
    }

    [Fact]
    public async Task ApiKeySourceOtherThanHeaderIsReportedAndItsFixSetsHeader()
    {
        var setup = await world.CleanSetupAsync();
        using (var http = world.Environment.ApiGatewayHttp())
        {
            await PreflightFixture.PatchAsync(http, $"/restapis/{setup.ApiId}", "replace", "/apiKeySource", "AUTHORIZER");
        }

        var fix = await OnlyProblemAsync(setup, "api-key-source");

        Assert.Equal($"aws apigateway update-rest-api --rest-api-id {setup.ApiId} --patch-operations op=replace,path=/apiKeySource,value=HEADER --region us-east-1", fix);
        await world.ApplyAwsFixAsync(fix);
        Assert.Equal(PreflightCommand.Clean, (await world.CheckAsync(setup)).Exit);
    }

    [Fact]
    public async Task MethodThatDoesNotRequireAKeyIsReportedAndItsFixRequiresOneAndRedeploys()
    {
        var setup = await world.CleanSetupAsync();
        using (var http = world.Environment.ApiGatewayHttp())
        {
            await PreflightFixture.AddMethodAsync(http, setup.ApiId, setup.ResourceId, "POST", apiKeyRequired: false);
        }

        var fix = await OnlyProblemAsync(setup, "api-key-required");

        Assert.Equal(
            $"aws apigateway update-method --rest-api-id {setup.ApiId} --resource-id {setup.ResourceId} --http-method POST " +
            "--patch-operations op=replace,path=/apiKeyRequired,value=true --region us-east-1 && " +
            $"aws apigateway create-deployment --rest-api-id {setup.ApiId} --stage-name prod --region us-east-1",
            fix);

        // moto has no UpdateMethod, so the method is put again the way the fix leaves it.
        using (var http = world.Environment.ApiGatewayHttp())
        {
            await PreflightFixture.AddMethodAsync(http, setup.ApiId, setup.ResourceId, "POST", apiKeyRequired: true);
        }

        Assert.Equal(PreflightCommand.Clean, (await world.CheckAsync(setup)).Exit);
    }

    [Fact]
    public async Task StageThatIsNotDeployedIsReportedWithTheDeploymentCommand()
    {
        var setup = await world.CleanSetupAsync();

        var (exit, output, _) = await FixtureRunWithAsync(setup, "--stage", "beta");

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        var problem = Assert.Single(Problems(output));
        Assert.Equal("stage", problem.Check);
        Assert.Equal($"aws apigateway create-deployment --rest-api-id {setup.ApiId} --stage-name beta --region us-east-1", problem.Fix);
    }

    [Fact]
    public async Task MissingSecretIsReportedWithTheCommandsThatCreateItAndPointTheStackAtIt()
    {
        var setup = await world.CleanSetupAsync() with { SecretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:absent-AbCdEf" };

        var fix = await OnlyProblemAsync(setup, "stripe-secret");

        Assert.StartsWith("aws secretsmanager create-secret --name monetization/stripe --secret-string '{\"SecretKey\":\"<sk_live_...>\",\"WebhookSecret\":\"<whsec_...>\"}' --region us-east-1 && ", fix, StringComparison.Ordinal);
        Assert.EndsWith("--parameter-overrides StripeSecretArn='<the ARN it printed>'", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretKeyStripeRefusesIsReportedWithThePutSecretValueCommand()
    {
        const string key = "sk_test_revoked_key_0123456789";
        var setup = await world.CleanSetupAsync() with
        {
            SecretArn = await world.CreateSecretAsync($$"""{"SecretKey":"{{key}}","WebhookSecret":"whsec_x"}"""),
        };

        var (exit, output, error) = await world.CheckAsync(setup);

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        var problem = Assert.Single(Problems(output));
        Assert.Equal("stripe-secret", problem.Check);
        Assert.Equal(
            $"aws secretsmanager put-secret-value --secret-id {setup.SecretArn} --secret-string '{{\"SecretKey\":\"<sk_live_...>\",\"WebhookSecret\":\"<whsec_...>\"}}' --region us-east-1",
            problem.Fix);
        Assert.DoesNotContain(key, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretWithoutTheWebhookSecretIsReportedWithoutShowingTheKey()
    {
        const string key = "sk_test_only_the_key_is_here";
        var setup = await world.CleanSetupAsync() with { SecretArn = await world.CreateSecretAsync($$"""{"SecretKey":"{{key}}"}""") };

        var (exit, output, error) = await world.CheckAsync(setup);

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        var problem = Assert.Single(Problems(output));
        Assert.Equal("stripe-secret", problem.Check);
        Assert.Contains("has no WebhookSecret", problem.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(key, output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PriceThatIsNotMeteredIsReportedWithTheCommandsForAMeteredOne()
    {
        var setup = await world.CleanSetupAsync() with { PriceId = await world.CreateLicensedPriceAsync() };

        var fix = await OnlyProblemAsync(setup, "stripe-price");

        Assert.Contains("-d 'recurring[usage_type]=metered'", fix, StringComparison.Ordinal);
        Assert.Contains("--parameter-overrides StripePriceId=", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATieredMeteredPriceIsReportedWithTheCommandsForAPerUnitOneOnTheSameMeter()
    {
        var setup = await world.CleanSetupAsync() with { PriceId = await world.CreateTieredMeteredPriceAsync() };

        var fix = await OnlyProblemAsync(setup, "stripe-price");

        Assert.Contains("-d unit_amount_decimal=", fix, StringComparison.Ordinal);
        Assert.Contains($"-d 'recurring[meter]={world.Environment.MeterId}'", fix, StringComparison.Ordinal);
        Assert.Contains("--parameter-overrides StripePriceId=", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MeterCountingAnotherEventNameIsReportedWithTheParameterThatMatchesIt()
    {
        var setup = await world.CleanSetupAsync() with { MeterEventName = "api_calls" };

        var fix = await OnlyProblemAsync(setup, "stripe-meter");

        Assert.Equal($"sam deploy --stack-name '<stack>' --region us-east-1 --parameter-overrides StripeMeterEventName={OfflineEnvironment.MeterEventName}", fix);
    }

    [Fact]
    public async Task NoWebhookEndpointAtThePortalIsReportedWithTheCommandThatCreatesOneAtEndive()
    {
        var setup = await world.CleanSetupAsync();
        await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, null, null);

        var fix = await OnlyProblemAsync(setup, "stripe-webhook");

        Assert.Contains($"-d url={new Uri(setup.PortalUrl, "stripe/webhook").AbsoluteUri}", fix, StringComparison.Ordinal);
        Assert.Contains("-d api_version=2026-10-28.endive", fix, StringComparison.Ordinal);
        Assert.All(StripeWebhookEvents.Required, e => Assert.Contains($"-d 'enabled_events[]={e}'", fix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DisabledWebhookEndpointIsReportedWithTheCommandThatEnablesIt()
    {
        var setup = await world.CleanSetupAsync();
        var id = await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, StripeWebhookVerifier.ApiVersion, StripeWebhookEvents.Required, disabled: true);

        var fix = await OnlyProblemAsync(setup, "stripe-webhook");

        Assert.Contains($"/v1/webhook_endpoints/{id} ", fix, StringComparison.Ordinal);
        Assert.EndsWith("-d disabled=false", fix, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("2025-03-31.basil")]
    [InlineData(null)]
    public async Task WebhookEndpointAtAnotherApiVersionIsReportedWithTheCommandsThatReplaceIt(string? version)
    {
        var setup = await world.CleanSetupAsync();
        var id = await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, version, StripeWebhookEvents.Required);

        var fix = await OnlyProblemAsync(setup, "stripe-webhook-version");

        Assert.Contains("-d api_version=2026-10-28.endive", fix, StringComparison.Ordinal);
        Assert.EndsWith($"curl -X DELETE https://api.stripe.com/v1/webhook_endpoints/{id} -u \"$STRIPE_SECRET_KEY:\"", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WebhookEndpointMissingAnEventThePortalActsOnIsReportedWithTheFullList()
    {
        var setup = await world.CleanSetupAsync();
        await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, StripeWebhookVerifier.ApiVersion, [.. StripeWebhookEvents.Required.Where(e => e != "invoice.paid")]);

        var fix = await OnlyProblemAsync(setup, "stripe-webhook-events");

        Assert.All(StripeWebhookEvents.Required, e => Assert.Contains($"-d 'enabled_events[]={e}'", fix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task WebhookEndpointSendingEveryEventIsAccepted()
    {
        var setup = await world.CleanSetupAsync();
        await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, StripeWebhookVerifier.ApiVersion, ["*"]);

        var (exit, output, error) = await world.CheckAsync(setup);

        Assert.True(exit == PreflightCommand.Clean, output + error);
    }

    [Fact]
    public async Task SubscriptionUrlThatIsNotFoundIsReported()
    {
        var setup = await world.CleanSetupAsync() with { PortalUrl = new Uri(world.PortalUrl, "elsewhere/") };
        await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, StripeWebhookVerifier.ApiVersion, StripeWebhookEvents.Required);

        var fix = await OnlyProblemAsync(setup, "subscription-url");

        Assert.StartsWith("sam logs --stack-name '<stack>' --name PortalFunction", fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubscriptionUrlThatFailsIsReportedWithItsStatus()
    {
        var port = FreePort.Next();
        await using var failing = LoopbackServer.CreateApp(port);
        failing.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            return Task.CompletedTask;
        });
        await failing.StartAsync(Ct);
        var setup = await world.CleanSetupAsync() with { PortalUrl = new Uri($"http://127.0.0.1:{port}/") };
        await world.ReplaceWebhookEndpointAsync(setup.PortalUrl, StripeWebhookVerifier.ApiVersion, StripeWebhookEvents.Required);

        var (exit, output, _) = await world.CheckAsync(setup);

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        var problem = Assert.Single(Problems(output));
        Assert.Equal("subscription-url", problem.Check);
        Assert.Contains("answered 502", problem.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASenderThatIsNotAnSesIdentityIsReportedAndItsFixCreatesTheIdentity()
    {
        var setup = await world.CleanSetupAsync() with { EmailSender = $"unverified-{Guid.NewGuid():N}@seller.example" };

        var fix = await OnlyProblemAsync(setup, "email-sender");

        Assert.Equal($"aws sesv2 create-email-identity --email-identity {setup.EmailSender} --region us-east-1", fix);
        await world.ApplyAwsFixAsync(fix);
        Assert.Equal(PreflightCommand.Clean, (await world.CheckAsync(setup)).Exit);
    }

    [Fact]
    public async Task ASenderOnAVerifiedDomainNeedsNoIdentityOfItsOwn()
    {
        var domain = $"d{Guid.NewGuid():N}.example";
        using (var ses = world.Environment.SesHttp())
        {
            await Monetization.Emulators.Moto.MotoSes.CreateEmailIdentityAsync(ses, domain, Ct);
        }

        var setup = await world.CleanSetupAsync() with { EmailSender = $"no-reply@{domain}" };

        var (exit, output, error) = await world.CheckAsync(setup);

        Assert.True(exit == PreflightCommand.Clean, output + error);
    }

    [Fact]
    public async Task AConfigurationSetThatDoesNotExistIsReportedAndItsFixCreatesIt()
    {
        var setup = await world.CleanSetupAsync() with { EmailConfigurationSet = $"missing-{Guid.NewGuid():N}" };

        var fix = await OnlyProblemAsync(setup, "email-configuration-set");

        Assert.Equal($"aws sesv2 create-configuration-set --configuration-set-name {setup.EmailConfigurationSet} --region us-east-1", fix);
        await world.ApplyAwsFixAsync(fix);
        Assert.Equal(PreflightCommand.Clean, (await world.CheckAsync(setup)).Exit);
    }

    [Fact]
    public async Task AnSesAccountStillInTheSandboxIsReportedWithTheRequestForProductionAccess()
    {
        var setup = await world.CleanSetupAsync();
        world.SesProductionAccess = false;
        try
        {
            var (exit, output, _) = await world.CheckAsync(setup);

            Assert.Equal(PreflightCommand.ProblemsFound, exit);
            var problem = Assert.Single(Problems(output));
            Assert.Equal("ses-sandbox", problem.Check);
            Assert.Contains("in the SES sandbox in us-east-1: only verified recipients receive mail (200 messages a day at most)", problem.Description, StringComparison.Ordinal);
            Assert.StartsWith($"aws sesv2 put-account-details --production-access-enabled --mail-type TRANSACTIONAL --website-url {setup.PortalUrl} --use-case-description '", problem.Fix, StringComparison.Ordinal);
            Assert.EndsWith("--region us-east-1", problem.Fix, StringComparison.Ordinal);
        }
        finally
        {
            world.SesProductionAccess = true;
        }
    }

    [Fact]
    public async Task PausedSendingIsReportedWithTheCommandThatResumesIt()
    {
        var setup = await world.CleanSetupAsync();
        world.SesSendingEnabled = false;
        try
        {
            var fix = await OnlyProblemAsync(setup, "ses-sending");

            Assert.Equal("aws sesv2 put-account-sending-attributes --sending-enabled --region us-east-1", fix);
        }
        finally
        {
            world.SesSendingEnabled = true;
        }
    }

    [Fact]
    public async Task AnSesAccountThatCannotBeReadIsReportedAsSuchAsMotoWhichLacksGetAccountShows()
    {
        var setup = await world.CleanSetupAsync();
        var args = setup.Arguments(world);
        args[Array.IndexOf(args, "--endpoint-url") + 1] = world.Environment.Moto.Endpoint.ToString();

        var (exit, output, _) = await PreflightFixture.RunAsync(args);

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        var problem = Assert.Single(Problems(output));
        Assert.Equal("ses-account", problem.Check);
        Assert.Equal("aws sesv2 get-account --region us-east-1", problem.Fix);
    }

    [Fact]
    public async Task StackNamedInsteadOfEachValueIsReadFromCloudFormation()
    {
        var setup = await world.CleanSetupAsync();
        var stackName = await world.CreateStackAsync(setup);

        var (exit, output, error) = await PreflightFixture.RunAsync(
        [
            "check", "--region", OfflineEnvironment.Region, "--stack", stackName,
            "--endpoint-url", world.AwsEndpoint.ToString(), "--stripe-api-base", world.Environment.Stripe.Endpoint.ToString(),
        ]);

        Assert.True(exit == PreflightCommand.Clean, output + error);
    }

    [Fact]
    public async Task FlagsOverrideTheStacksValuesAndFixesNameTheStack()
    {
        var setup = await world.CleanSetupAsync();
        var stackName = await world.CreateStackAsync(setup);

        var (exit, output, _) = await PreflightFixture.RunAsync(
        [
            "check", "--region", OfflineEnvironment.Region, "--stack", stackName, "--meter-event-name", "api_calls",
            "--endpoint-url", world.AwsEndpoint.ToString(), "--stripe-api-base", world.Environment.Stripe.Endpoint.ToString(),
        ]);

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        var problem = Assert.Single(Problems(output));
        Assert.Equal($"sam deploy --stack-name {stackName} --region us-east-1 --parameter-overrides StripeMeterEventName={OfflineEnvironment.MeterEventName}", problem.Fix);
    }

    [Fact]
    public async Task StackThatDoesNotExistStopsWithExitOne()
    {
        var (exit, output, error) = await PreflightFixture.RunAsync(
            ["check", "--region", OfflineEnvironment.Region, "--stack", "no-such-stack", "--endpoint-url", world.Environment.Moto.Endpoint.ToString()]);

        Assert.Equal(PreflightCommand.ProblemsFound, exit);
        Assert.Empty(output);
        Assert.Contains("DescribeStacks failed", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("check", "--region", "us-east-1")]
    [InlineData("check", "--colour", "blue")]
    [InlineData("check", "--region", "us-east-1", "--api-id", "a", "--stage", "s", "--stripe-plan", "p", "--secret-arn", "arn", "--price", "price_1", "--meter-event-name", "m", "--portal-url", "https://portal.example/", "--email-sender", "Example <no-reply@example.com>")]
    [InlineData("publish")]
    [InlineData("link-product-code", "--region", "us-east-1", "--marketplace-plan", "abc")]
    public async Task IncompleteOrUnknownArgumentsExitTwoWithTheUsage(params string[] args)
    {
        var (exit, output, error) = await PreflightFixture.RunAsync(args);

        Assert.Equal(PreflightCommand.UsageError, exit);
        Assert.Empty(output);
        Assert.Contains("usage: Preflight check", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ProductCodeWithoutAMarketplacePlanIsAUsageError()
    {
        var setup = await world.CleanSetupAsync();
        var args = setup.Arguments(world).ToList();
        args.RemoveRange(args.IndexOf("--marketplace-plan"), 2);

        var (exit, _, error) = await PreflightFixture.RunAsync([.. args]);

        Assert.Equal(PreflightCommand.UsageError, exit);
        Assert.Contains("--product-code and --marketplace-plan go together", error, StringComparison.Ordinal);
    }

    private async Task<(int Exit, string Output, string Error)> FixtureRunWithAsync(SellerSetup setup, string flag, string value)
    {
        var args = setup.Arguments(world);
        args[Array.IndexOf(args, flag) + 1] = value;
        return await PreflightFixture.RunAsync(args);
    }

    /// <returns>The fix of the one problem reported, after checking it is the expected one.</returns>
    private async Task<string> OnlyProblemAsync(SellerSetup setup, string check)
    {
        var (exit, output, error) = await world.CheckAsync(setup);
        Assert.True(exit == PreflightCommand.ProblemsFound, output + error);
        var problem = Assert.Single(Problems(output));
        Assert.Equal(check, problem.Check);
        return problem.Fix;
    }

    private static List<(string Check, string Description, string Fix)> Problems(string output) =>
        [.. ProblemLines().Matches(output).Select(m => (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value.TrimEnd('\r')))];

    [GeneratedRegex(@"^PROBLEM \[([a-z-]+)\] (.*)\r?\n  fix: (.*)$", RegexOptions.Multiline)]
    private static partial Regex ProblemLines();
}
