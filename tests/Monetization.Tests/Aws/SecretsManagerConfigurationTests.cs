using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Monetization.Aws;
using Monetization.Aws.Secrets;
using Monetization.Emulators;
using Monetization.Portal.Hosting;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Aws;

public sealed class SecretsManagerConfigurationTests(MotoFixture moto) : IClassFixture<MotoFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task JsonSecretFieldsBecomeSettingsUnderTheSection()
    {
        var arn = await CreateSecretAsync("stripe-fields", """{"SecretKey":"sk_test_from_secret","WebhookSecret":"whsec_from_secret","Count":3}""");

        var configuration = new ConfigurationBuilder().AddSecretsManagerJson(arn, "Stripe", Options()).Build();

        Assert.Equal("sk_test_from_secret", configuration["Stripe:SecretKey"]);
        Assert.Equal("whsec_from_secret", configuration["Stripe:WebhookSecret"]);
        Assert.Null(configuration["Stripe:Count"]);
    }

    [Fact]
    public async Task SecretThatIsNotAJsonObjectFailsWithoutShowingItsText()
    {
        var arn = await CreateSecretAsync("stripe-plain", "sk_test_plain_text_secret");

        var failure = Assert.Throws<InvalidOperationException>(() => new ConfigurationBuilder().AddSecretsManagerJson(arn, "Stripe", Options()).Build());

        Assert.Contains(arn, failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk_test_plain_text_secret", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PortalReadsTheStripeKeysFromTheSecretNamedInItsSettings()
    {
        var arn = await CreateSecretAsync("stripe-portal", """{"SecretKey":"sk_test_portal_secret","WebhookSecret":"whsec_portal"}""");
        OfflineEnvironment.UseLocalCredentials();
        await using var portal = PortalApp.Create([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Aws:Region"] = "us-east-1",
                ["Aws:ServiceUrl"] = moto.Endpoint.ToString(),
                ["Monetization:LedgerTableName"] = "ledger",
                ["Monetization:StripeUsagePlanId"] = "plan",
                ["KeyMinting:QueueUrl"] = "https://sqs.us-east-1.amazonaws.com/123456789012/monetization-key-mints",
                ["Monetization:ApiBaseUrl"] = "https://abc123defg.execute-api.us-east-1.amazonaws.com/prod",
                ["Monetization:MarketplaceUsagePlanId"] = "mp-plan",
                ["Stripe:SecretArn"] = arn,
                ["Stripe:PriceId"] = "price_1",
                ["Stripe:MeterEventName"] = "api_requests",
                ["Email:FromAddress"] = "no-reply@example.com",
            });
            builder.WebHost.UseUrls($"http://127.0.0.1:{FreePort.Next()}");
        });

        await portal.StartAsync(Ct);

        Assert.Equal("sk_test_portal_secret", portal.Configuration["Stripe:SecretKey"]);
        await portal.StopAsync(Ct);
    }

    private AwsClientOptions Options() => AwsTestClients.Options(moto.Endpoint);

    private async Task<string> CreateSecretAsync(string name, string value)
    {
        using var http = AwsTestClients.Http(AwsService.SecretsManager, Options());
        var body = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string> { ["Name"] = $"{name}-{Guid.NewGuid():N}", ["SecretString"] = value });
        using var request = new HttpRequestMessage(HttpMethod.Post, moto.Endpoint)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1"),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.CreateSecret");
        using var response = await http.SendAsync(request, Ct);
        response.EnsureSuccessStatusCode();
        using var document = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return document.RootElement.GetProperty("ARN").GetString()!;
    }
}
