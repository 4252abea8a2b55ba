using System.Net;
using System.Text;
using System.Text.Json;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Emulators;
using Monetization.Emulators.AwsStandIn;

namespace Monetization.Tests.Aws;

/// <summary>
/// ImportApiKeys as the developer guide's "API Gateway API key file format" documents it: the file the adapter writes,
/// and the stand-in (moto lacks the operation) reading the guide's own examples.
/// </summary>
public sealed class ApiKeyImportTests : IAsyncLifetime
{
    private OfflineEnvironment _environment = null!;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _environment = await OfflineEnvironment.StartAsync(Cancel);

    public async ValueTask DisposeAsync() => await _environment.DisposeAsync();

    [Fact]
    public void TheFileHasTheDocumentedHeaderAndQuotesSeveralPlanIdsAsOneField()
    {
        var file = ApiGatewayKeyFile.Write(
        [
            new ApiKeyImport("stripe:abc", "Monetization stripe subscriber stripe#abc", new Secret("apikey1234abcdefghij0123456789"), Enabled: true, ["c7y23b", "glvrsr"]),
            new ApiKeyImport("stripe:d,e", "said \"hi\"", new Secret("apikey1234abcdefghij9876543210"), Enabled: false, ["c7y23b"]),
        ]).Reveal();

        var lines = file.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Name,Key,Description,Enabled,UsagePlanIds", lines[0]);
        Assert.Equal("stripe:abc,apikey1234abcdefghij0123456789,Monetization stripe subscriber stripe#abc,true,\"c7y23b,glvrsr\"", lines[1]);
        Assert.Equal("\"stripe:d,e\",apikey1234abcdefghij9876543210,\"said \"\"hi\"\"\",false,c7y23b", lines[2]);
        Assert.Equal(
            [["Name", "Key", "Description", "Enabled", "UsagePlanIds"], ["stripe:d,e", "apikey1234abcdefghij9876543210", "said \"hi\"", "false", "c7y23b"]],
            ApiGatewayKeyImport.ParseCsv(lines[0] + "\n" + lines[2]));
        Assert.Throws<ArgumentException>(() => ApiGatewayKeyFile.Write([new ApiKeyImport("short", "d", new Secret("only19characters..."), true, [])]));
    }

    [Fact]
    public async Task TheGuidesExamplesImportKeysIntoTheirPlansAndTheSameValueAgainOverwritesItsKey()
    {
        var (stripe, marketplace) = (_environment.StripeUsagePlanId, _environment.MarketplaceUsagePlanId);
        using var http = SignedForStandIn();

        // Header names in any case and order; several plan ids in double, then single quotes; Enabled absent is true.
        var first = await ImportAsync(http, $"Key,name\napikey1234abcdefghij0123456789,MyFirstApiKey\n", failOnWarnings: true);
        var second = await ImportAsync(http, $"Name,key,description,Enabled,usageplanIds\nMySecondApiKey,apikey1234abcdefghij0123456780,An imported key,TRUE,{stripe}\n", failOnWarnings: true);
        var third = await ImportAsync(http, $"Enabled,Name,key,UsageplanIds\ntrue,MyThirdApiKey,apikey1234abcdefghij0123456781,\"{stripe},{marketplace}\"\n", failOnWarnings: true);
        var fourth = await ImportAsync(http, $"Name,Key,UsagePlanIds,Ignored\nMyFourthApiKey,apikey1234abcdefghij0123456782,'{marketplace}',whatever\n", failOnWarnings: true);

        Assert.All(new[] { first, second, third, fourth }, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        var keys = await _environment.ApiKeysAsync(Cancel);
        Assert.True(keys.Single(k => k.Name == "MyFirstApiKey").Enabled);
        var stripeKeys = await _environment.UsagePlanKeyIdsAsync(stripe, Cancel);
        var marketplaceKeys = await _environment.UsagePlanKeyIdsAsync(marketplace, Cancel);
        Assert.Contains(Id(second), stripeKeys);
        Assert.Contains(Id(third), stripeKeys);
        Assert.Contains(Id(third), marketplaceKeys);
        Assert.Contains(Id(fourth), marketplaceKeys);

        var again = await ImportAsync(http, "name,key,enabled\nRenamed,apikey1234abcdefghij0123456789,false\n", failOnWarnings: true);
        Assert.Equal(Id(first), Id(again));
        var overwritten = (await _environment.ApiKeysAsync(Cancel)).Single(k => k.Id == Id(first));
        Assert.Equal(("Renamed", false), (overwritten.Name, overwritten.Enabled));
    }

    [Fact]
    public async Task ARowTheFormatRefusesFailsTheWholeImportWithFailOnWarningsAndIsSkippedWithout()
    {
        using var http = SignedForStandIn();
        var before = (await _environment.ApiKeysAsync(Cancel)).Count;
        var file = "Name,Key\nGood,apikey1234abcdefghij0123456799\nTooShort,only19characters...\n";

        var strict = await ImportAsync(http, file, failOnWarnings: true);
        Assert.Equal(HttpStatusCode.BadRequest, strict.Status);
        Assert.Contains("between 20 and 128", strict.Body, StringComparison.Ordinal);
        Assert.Equal(before, (await _environment.ApiKeysAsync(Cancel)).Count);

        var lenient = await ImportAsync(http, file, failOnWarnings: false);
        Assert.Equal(HttpStatusCode.Created, lenient.Status);
        using var answer = JsonDocument.Parse(lenient.Body);
        Assert.Equal(1, answer.RootElement.GetProperty("ids").GetArrayLength());
        Assert.Equal(1, answer.RootElement.GetProperty("warnings").GetArrayLength());
        Assert.Equal(before + 1, (await _environment.ApiKeysAsync(Cancel)).Count);
    }

    [Fact]
    public async Task TheAdapterImportsEnabledKeysInTheirPlanInOneCallAndReturnsTheirIdsInOrder()
    {
        using var http = SignedForStandIn();
        var keys = new ApiGatewayApiKeys(new ApiGatewayClient(http));
        var imports = _environment.KeyImport.Imports;
        var names = Enumerable.Range(0, 5).Select(i => $"adapter-{i}-{Guid.NewGuid():N}").ToList();

        var ids = await keys.ImportAsync([.. names.Select(n => new ApiKeyImport(n, "d", ApiKeyAccess.NewValue(), true, [_environment.StripeUsagePlanId]))], Cancel);

        Assert.Equal(imports + 1, _environment.KeyImport.Imports);
        var stored = await _environment.ApiKeysAsync(Cancel);
        Assert.Equal(names, ids.Select(id => stored.Single(k => k.Id == id).Name));
        Assert.All(ids, id => Assert.True(stored.Single(k => k.Id == id).Enabled));
        var plan = await _environment.UsagePlanKeyIdsAsync(_environment.StripeUsagePlanId, Cancel);
        Assert.All(ids, id => Assert.Contains(id, plan));
    }

    private static string Id((HttpStatusCode Status, string Body) answer)
    {
        using var document = JsonDocument.Parse(answer.Body);
        return document.RootElement.GetProperty("ids")[0].GetString()!;
    }

    private HttpClient SignedForStandIn()
    {
        var options = new AwsClientOptions { Region = OfflineEnvironment.Region, ServiceUrl = _environment.ApiGateway.Endpoint, Credentials = OfflineEnvironment.LocalCredentials };
        return AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.ApiGateway, options, _ => null), options);
    }

    private static async Task<(HttpStatusCode Status, string Body)> ImportAsync(HttpClient http, string file, bool failOnWarnings)
    {
        using var content = new StringContent(file, Encoding.UTF8, "text/csv");
        using var response = await http.PostAsync(new Uri($"/apikeys?mode=import&format=csv{(failOnWarnings ? "&failonwarnings=true" : string.Empty)}", UriKind.Relative), content, Cancel);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(Cancel));
    }
}
