using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Aws;

namespace Monetization.Tests.Aws;

/// <summary>Raw signed calls for the moto setup our clients do not model (REST APIs, usage plans, plan membership).</summary>
internal static class MotoApiGateway
{
    public static async Task<string> CreateUsagePlanAsync(Uri endpoint, string name, CancellationToken cancellationToken)
    {
        using var http = AwsTestClients.Http(AwsService.ApiGateway, AwsTestClients.Options(endpoint));
        var api = await PostAsync(http, "/restapis", $$"""{"name":"{{name}}-api"}""", cancellationToken);
        var apiId = api.GetProperty("id").GetString()!;

        // moto does not require the stage to be deployed; real API Gateway would.
        var plan = await PostAsync(http, "/usageplans", $$"""{"name":"{{name}}","apiStages":[{"apiId":"{{apiId}}","stage":"prod"}]}""", cancellationToken);
        return plan.GetProperty("id").GetString()!;
    }

    public static async Task<IReadOnlyList<string>> UsagePlanKeyIdsAsync(Uri endpoint, string usagePlanId, CancellationToken cancellationToken)
    {
        using var http = AwsTestClients.Http(AwsService.ApiGateway, AwsTestClients.Options(endpoint));
        using var response = await http.GetAsync(new Uri(endpoint, $"/usageplans/{usagePlanId}/keys"), cancellationToken);
        response.EnsureSuccessStatusCode();
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return [.. document.RootElement.GetProperty("item").EnumerateArray().Select(k => k.GetProperty("id").GetString()!)];
    }

    private static async Task<JsonElement> PostAsync(HttpClient http, string path, string json, CancellationToken cancellationToken)
    {
        using var content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(http.BaseAddress!, path), content, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).Clone();
    }
}
