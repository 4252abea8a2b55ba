using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Core.ApiKeys;
using Monetization.Core.Marketplace;
using Monetization.Emulators;
using Monetization.Emulators.AwsStandIn;

namespace Monetization.Tests.Aws;

public sealed class AwsServiceRegistrationTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RegisteredApiKeysSendSignedRequestsToTheConfiguredEndpoint()
    {
        await using var server = await AwsStandInServer.StartAsync(_ => new StandInResponse(200, """{"id":"k1","name":"n","enabled":true}"""), Cancel);

        // Every call takes its turn at the account's budget, kept in the ledger's table (here on moto).
        OfflineEnvironment.UseLocalCredentials();
        await using var moto = await Monetization.Emulators.Moto.MotoServer.RentAsync(Cancel);
        using (var dynamoDb = new Amazon.DynamoDBv2.AmazonDynamoDBClient(
            new Amazon.Runtime.BasicAWSCredentials(OfflineEnvironment.LocalCredentials.AccessKey, OfflineEnvironment.LocalCredentials.SecretKey),
            new Amazon.DynamoDBv2.AmazonDynamoDBConfig { ServiceURL = moto.Endpoint.ToString(), AuthenticationRegion = "eu-central-1" }))
        {
            await Monetization.Aws.Ledger.LedgerTable.CreateAsync(dynamoDb, "registration-ledger", Cancel);
        }

        var services = new ServiceCollection();
        services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        services.AddLogging();
        services.AddAwsApiGateway(o =>
        {
            o.Region = "eu-central-1";
            o.ServiceUrl = server.Endpoint;
            o.Credentials = AwsTestClients.TestCredentials;
        });
        services.AddDynamoDbLedger("registration-ledger", moto.Endpoint, "eu-central-1");
        await using var provider = services.BuildServiceProvider(validateScopes: true);

        var key = await provider.GetRequiredService<IApiKeys>().GetAsync("k1", includeValue: false, Cancel);

        Assert.Equal("k1", key!.Id);
        var scope = Assert.Single(server.Requests).CredentialScope;
        Assert.Equal(["eu-central-1", "apigateway"], scope.Skip(2).Take(2));
    }

    [Fact]
    public void RegisteredMeteringResolvesToTheMarketplaceAdapter()
    {
        var services = new ServiceCollection();
        services.AddAwsMarketplaceMetering(o =>
        {
            o.Region = "us-east-1";
            o.Credentials = AwsTestClients.TestCredentials;
        });
        using var provider = services.BuildServiceProvider(validateScopes: true);

        Assert.IsType<Monetization.Aws.Marketplace.AwsMarketplaceMetering>(provider.GetRequiredService<IMarketplaceMetering>());
    }

    [Fact]
    public void InvalidOptionsFailNamingTheClientAndTheSetting()
    {
        var services = new ServiceCollection();
        services.AddAwsApiGateway(o => o.MaxRetries = 99);
        using var provider = services.BuildServiceProvider(validateScopes: true);

        var error = Assert.Throws<OptionsValidationException>(
            () => provider.GetRequiredService<IOptionsMonitor<AwsClientOptions>>().Get(AwsServiceCollectionExtensions.ApiGatewayOptionsName));

        Assert.Contains("ApiGateway: MaxRetries", error.Message, StringComparison.Ordinal);
    }
}
