using System.Globalization;
using Monetization.Aws.Http;

namespace Monetization.Aws.ApiGateway;

/// <summary>
/// The read operations that inspect how the sold API is set up (key source, methods, stages, plans), for the
/// seller's preflight check; the functions themselves never call them.
/// </summary>
public sealed partial class ApiGatewayClient
{
    private static readonly ApiGatewaySetupJsonContext SetupJson = ApiGatewaySetupJsonContext.Default;

    public Task<RestApi> GetRestApiAsync(string restApiId, CancellationToken cancellationToken) =>
        SendAsync<object, RestApi>(
            HttpMethod.Get, $"/restapis/{AwsCall.Segment(restApiId)}", null, null, null, SetupJson.RestApi, "GetRestApi", cancellationToken);

    public Task<ApiStage> GetStageAsync(string restApiId, string stageName, CancellationToken cancellationToken) =>
        SendAsync<object, ApiStage>(
            HttpMethod.Get,
            $"/restapis/{AwsCall.Segment(restApiId)}/stages/{AwsCall.Segment(stageName)}",
            null,
            null,
            null,
            SetupJson.ApiStage,
            "GetStage",
            cancellationToken);

    /// <summary>Every resource of the API with its methods embedded (<c>embed=methods</c>), all pages.</summary>
    public async Task<IReadOnlyList<ApiResource>> GetResourcesAsync(string restApiId, CancellationToken cancellationToken)
    {
        var resources = new List<ApiResource>();
        string? position = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var page = await SendAsync<object, ResourcesPage>(
                HttpMethod.Get,
                $"/restapis/{AwsCall.Segment(restApiId)}/resources",
                [("embed", "methods"), ("limit", 500.ToString(CultureInfo.InvariantCulture)), ("position", position)],
                null,
                null,
                SetupJson.ResourcesPage,
                "GetResources",
                cancellationToken);
            resources.AddRange(page.Items ?? []);
            position = NextPosition(page.Position, seen, "GetResources");
        }
        while (position is not null);

        return resources;
    }

    public Task<UsagePlan> GetUsagePlanAsync(string usagePlanId, CancellationToken cancellationToken) =>
        SendAsync<object, UsagePlan>(
            HttpMethod.Get, $"/usageplans/{AwsCall.Segment(usagePlanId)}", null, null, null, Json.UsagePlan, "GetUsagePlan", cancellationToken);
}
