using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Serialization.Metadata;
using Monetization.Aws.Http;
using Monetization.Core;

namespace Monetization.Aws.ApiGateway;

/// <summary>
/// The API Gateway (REST API v1, rest-json) operations this application uses. List operations follow
/// <c>position</c> to the last page. Refusals surface as <see cref="AwsServiceException"/>.
/// </summary>
public sealed partial class ApiGatewayClient
{
    private const string Service = "apigateway";
    private static readonly ApiGatewayJsonContext Json = ApiGatewayJsonContext.Default;

    private readonly HttpClient _http;

    public ApiGatewayClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    public Task<ApiGatewayApiKey> CreateApiKeyAsync(CreateApiKeyRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return SendAsync(HttpMethod.Post, "/apikeys", null, request, Json.CreateApiKeyRequest, Json.ApiGatewayApiKey, "CreateApiKey", cancellationToken);
    }

    /// <summary>
    /// ImportApiKeys: the CSV file (API Gateway's API key file format) in one call. With <paramref name="failOnWarnings"/>
    /// a row API Gateway warns about rolls the whole import back, so a partial import never happens.
    /// </summary>
    /// <remarks>The file holds key values: it is sent, never logged, and each of <paramref name="values"/> is kept out of error messages.</remarks>
    public async Task<ApiKeyIds> ImportApiKeysAsync(Secret csv, IReadOnlyList<Secret> values, bool failOnWarnings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(csv);
        ArgumentNullException.ThrowIfNull(values);
        using var request = new HttpRequestMessage(
            HttpMethod.Post,
            AwsCall.Url(_http, "/apikeys", [("mode", "import"), ("format", "csv"), ("failonwarnings", failOnWarnings ? "true" : null)]))
        {
            Content = new StringContent(csv.Reveal(), Encoding.UTF8, "text/csv"),
        };
        using var response = await AwsCall.SendAsync(_http, request, Service, "ImportApiKeys", [csv, .. values], cancellationToken);
        return await response.Content.ReadFromJsonAsync(Json.ApiKeyIds, cancellationToken)
            ?? throw new AwsServiceException($"{Service} ImportApiKeys returned an empty body.");
    }

    public async Task<IReadOnlyList<ApiGatewayApiKey>> GetApiKeysAsync(GetApiKeysRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(request.Limit, 500);
        var keys = new List<ApiGatewayApiKey>();
        string? position = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var page = await SendAsync<object, ApiKeysPage>(
                HttpMethod.Get,
                "/apikeys",
                [
                    ("name", request.Name),
                    ("customerId", request.CustomerId),
                    ("includeValues", request.IncludeValues ? "true" : null),
                    ("limit", request.Limit.ToString(CultureInfo.InvariantCulture)),
                    ("position", position),
                ],
                null,
                null,
                Json.ApiKeysPage,
                "GetApiKeys",
                cancellationToken);
            keys.AddRange(page.Items ?? []);
            position = NextPosition(page.Position, seen, "GetApiKeys");
        }
        while (position is not null);

        return keys;
    }

    public Task<ApiGatewayApiKey> GetApiKeyAsync(string apiKeyId, bool includeValue, CancellationToken cancellationToken) =>
        SendAsync<object, ApiGatewayApiKey>(
            HttpMethod.Get,
            $"/apikeys/{AwsCall.Segment(apiKeyId)}",
            [("includeValue", includeValue ? "true" : null)],
            null,
            null,
            Json.ApiGatewayApiKey,
            "GetApiKey",
            cancellationToken);

    public Task<ApiGatewayApiKey> UpdateApiKeyAsync(string apiKeyId, IReadOnlyList<PatchOperation> patchOperations, CancellationToken cancellationToken) =>
        SendAsync(
            HttpMethod.Patch,
            $"/apikeys/{AwsCall.Segment(apiKeyId)}",
            null,
            new PatchRequest(patchOperations),
            Json.PatchRequest,
            Json.ApiGatewayApiKey,
            "UpdateApiKey",
            cancellationToken);

    public Task DeleteApiKeyAsync(string apiKeyId, CancellationToken cancellationToken) =>
        SendWithoutResultAsync(HttpMethod.Delete, $"/apikeys/{AwsCall.Segment(apiKeyId)}", "DeleteApiKey", cancellationToken);

    public Task<UsagePlanKey> CreateUsagePlanKeyAsync(string usagePlanId, string apiKeyId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(apiKeyId);
        return SendAsync(
            HttpMethod.Post,
            $"/usageplans/{AwsCall.Segment(usagePlanId)}/keys",
            null,
            new CreateUsagePlanKeyRequest(apiKeyId, "API_KEY"),
            Json.CreateUsagePlanKeyRequest,
            Json.UsagePlanKey,
            "CreateUsagePlanKey",
            cancellationToken);
    }

    public Task<UsagePlanKey> GetUsagePlanKeyAsync(string usagePlanId, string apiKeyId, CancellationToken cancellationToken) =>
        SendAsync<object, UsagePlanKey>(
            HttpMethod.Get,
            $"/usageplans/{AwsCall.Segment(usagePlanId)}/keys/{AwsCall.Segment(apiKeyId)}",
            null,
            null,
            null,
            Json.UsagePlanKey,
            "GetUsagePlanKey",
            cancellationToken);

    public Task DeleteUsagePlanKeyAsync(string usagePlanId, string apiKeyId, CancellationToken cancellationToken) =>
        SendWithoutResultAsync(
            HttpMethod.Delete, $"/usageplans/{AwsCall.Segment(usagePlanId)}/keys/{AwsCall.Segment(apiKeyId)}", "DeleteUsagePlanKey", cancellationToken);

    /// <summary>All pages merged. A key seen on a later page continues its days where the earlier page stopped.</summary>
    public async Task<ApiGatewayUsage> GetUsageAsync(GetUsageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.EndDate < request.StartDate)
        {
            throw new ArgumentException("The end date is before the start date.", nameof(request));
        }

        var items = new Dictionary<string, List<IReadOnlyList<long>>>(StringComparer.Ordinal);
        UsagePage? first = null;
        string? position = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        do
        {
            var page = await SendAsync<object, UsagePage>(
                HttpMethod.Get,
                $"/usageplans/{AwsCall.Segment(request.UsagePlanId)}/usage",
                [
                    ("startDate", request.StartDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                    ("endDate", request.EndDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)),
                    ("keyId", request.KeyId),
                    ("limit", request.Limit?.ToString(CultureInfo.InvariantCulture)),
                    ("position", position),
                ],
                null,
                null,
                Json.UsagePage,
                "GetUsage",
                cancellationToken);
            first ??= page;
            foreach (var (keyId, days) in page.Items ?? new Dictionary<string, long[][]>())
            {
                if (!items.TryGetValue(keyId, out var list))
                {
                    items[keyId] = list = [];
                }

                list.AddRange(days);
            }

            position = NextPosition(page.Position, seen, "GetUsage");
        }
        while (position is not null);

        return new ApiGatewayUsage(
            first.UsagePlanId,
            first.StartDate,
            first.EndDate,
            items.ToDictionary(p => p.Key, p => (IReadOnlyList<IReadOnlyList<long>>)p.Value, StringComparer.Ordinal));
    }

    public Task<UsagePlan> UpdateUsagePlanAsync(string usagePlanId, IReadOnlyList<PatchOperation> patchOperations, CancellationToken cancellationToken) =>
        SendAsync(
            HttpMethod.Patch,
            $"/usageplans/{AwsCall.Segment(usagePlanId)}",
            null,
            new PatchRequest(patchOperations),
            Json.PatchRequest,
            Json.UsagePlan,
            "UpdateUsagePlan",
            cancellationToken);

    /// <summary>A service that hands back the position it was given would page forever; that is a fault, not the end.</summary>
    private static string? NextPosition(string? position, HashSet<string> seen, string operation)
    {
        if (string.IsNullOrEmpty(position))
        {
            return null;
        }

        return seen.Add(position) ? position : throw new InvalidOperationException($"{operation} returned the same position twice.");
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        HttpMethod method,
        string path,
        IEnumerable<(string Name, string? Value)>? query,
        TRequest? body,
        JsonTypeInfo<TRequest>? bodyType,
        JsonTypeInfo<TResponse> responseType,
        string operation,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, AwsCall.Url(_http, path, query));
        if (body is not null && bodyType is not null)
        {
            request.Content = JsonContent.Create(body, bodyType);
        }

        using var response = await AwsCall.SendAsync(_http, request, Service, operation, null, cancellationToken);
        return await response.Content.ReadFromJsonAsync(responseType, cancellationToken)
            ?? throw new AwsServiceException($"{Service} {operation} returned an empty body.");
    }

    private async Task SendWithoutResultAsync(HttpMethod method, string path, string operation, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, AwsCall.Url(_http, path));
        using var response = await AwsCall.SendAsync(_http, request, Service, operation, null, cancellationToken);
        if (response.StatusCode is not (HttpStatusCode.Accepted or HttpStatusCode.OK or HttpStatusCode.NoContent))
        {
            throw new AwsServiceException($"{Service} {operation} answered {(int)response.StatusCode}, expected 202.");
        }
    }
}
