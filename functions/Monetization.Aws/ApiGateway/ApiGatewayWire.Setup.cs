using System.Text.Json.Serialization;

namespace Monetization.Aws.ApiGateway;

// Shapes of botocore's apigateway/2015-07-09 RestApi, Stage, Resources, Resource and Method, the members the
// preflight check reads.

/// <param name="ApiKeySource"><c>HEADER</c> or <c>AUTHORIZER</c>; API Gateway meters Marketplace keys only from the header.</param>
public sealed record RestApi(string Id, string? Name, string? ApiKeySource);

public sealed record ApiStage(string? StageName, string? DeploymentId);

/// <param name="ResourceMethods">Per HTTP verb, present when the resources were read with <c>embed=methods</c>.</param>
public sealed record ApiResource(string Id, string? Path, IReadOnlyDictionary<string, ApiMethod>? ResourceMethods);

public sealed record ApiMethod(string? HttpMethod, string? AuthorizationType, bool? ApiKeyRequired);

internal sealed record ResourcesPage(
    string? Position,
    [property: JsonPropertyName("item")] IReadOnlyList<ApiResource>? Items);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(RestApi))]
[JsonSerializable(typeof(ApiStage))]
[JsonSerializable(typeof(ResourcesPage))]
internal sealed partial class ApiGatewaySetupJsonContext : JsonSerializerContext;
