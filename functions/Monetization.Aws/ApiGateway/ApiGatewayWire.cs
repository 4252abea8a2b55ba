using System.Text.Json.Serialization;

namespace Monetization.Aws.ApiGateway;

// Shapes follow the botocore model apigateway/2015-07-09; list members travel under their locationName ("item", "values").

public sealed record CreateApiKeyRequest(
    string Name,
    string? Description,
    bool Enabled,
    string? CustomerId,
    IReadOnlyDictionary<string, string>? Tags,
    string? Value = null)
{
    public override string ToString() => $"CreateApiKeyRequest {{ Name = {Name}, Enabled = {Enabled}, CustomerId = {CustomerId} }}";
}

public sealed record ApiGatewayApiKey(
    string Id,
    string? Name,
    string? Description,
    bool Enabled,
    string? CustomerId,
    IReadOnlyDictionary<string, string>? Tags,
    string? Value)
{
    public override string ToString() => $"ApiGatewayApiKey {{ Id = {Id}, Name = {Name}, Enabled = {Enabled}, CustomerId = {CustomerId} }}";
}

public sealed record GetApiKeysRequest(string? Name = null, string? CustomerId = null, bool IncludeValues = false, int Limit = 500);

internal sealed record ApiKeysPage(
    string? Position,
    [property: JsonPropertyName("item")] IReadOnlyList<ApiGatewayApiKey>? Items);

/// <summary>A JSON Patch operation as API Gateway accepts it; values are always strings on the wire.</summary>
public sealed record PatchOperation(string Op, string Path, string? Value)
{
    public static PatchOperation Replace(string path, string value) => new("replace", path, value);
}

internal sealed record PatchRequest(IReadOnlyList<PatchOperation> PatchOperations);

internal sealed record CreateUsagePlanKeyRequest(string KeyId, string KeyType);

public sealed record UsagePlanKey(string Id, string? Type, string? Name)
{
    public override string ToString() => $"UsagePlanKey {{ Id = {Id}, Type = {Type}, Name = {Name} }}";
}

public sealed record GetUsageRequest(string UsagePlanId, DateOnly StartDate, DateOnly EndDate, string? KeyId = null, int? Limit = null);

/// <summary>Per key id, one <c>[used, remaining]</c> pair per day from <see cref="StartDate"/>.</summary>
public sealed record ApiGatewayUsage(
    string? UsagePlanId,
    string? StartDate,
    string? EndDate,
    IReadOnlyDictionary<string, IReadOnlyList<IReadOnlyList<long>>> Items);

internal sealed record UsagePage(
    string? UsagePlanId,
    string? StartDate,
    string? EndDate,
    string? Position,
    // Arrays, not lists: a usage report holds one pair per key per day, for every key in the plan.
    [property: JsonPropertyName("values")] IReadOnlyDictionary<string, long[][]>? Items);

/// <summary>ImportApiKeys' answer: the imported keys' ids, and what API Gateway warned about.</summary>
public sealed record ApiKeyIds(IReadOnlyList<string>? Ids, IReadOnlyList<string>? Warnings);

public sealed record UsagePlan(string Id, string? Name, string? Description, string? ProductCode, UsagePlanQuota? Quota = null);

/// <param name="Limit">A number on the wire; read from a string too, as moto answers a limit set by a patch.</param>
/// <param name="Period">DAY, WEEK or MONTH.</param>
public sealed record UsagePlanQuota([property: JsonNumberHandling(JsonNumberHandling.AllowReadingFromString)] int Limit, string? Period);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(CreateApiKeyRequest))]
[JsonSerializable(typeof(ApiGatewayApiKey))]
[JsonSerializable(typeof(ApiKeysPage))]
[JsonSerializable(typeof(PatchRequest))]
[JsonSerializable(typeof(CreateUsagePlanKeyRequest))]
[JsonSerializable(typeof(UsagePlanKey))]
[JsonSerializable(typeof(UsagePage))]
[JsonSerializable(typeof(UsagePlan))]
[JsonSerializable(typeof(ApiKeyIds))]
internal sealed partial class ApiGatewayJsonContext : JsonSerializerContext;
