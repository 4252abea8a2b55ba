using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Monetization.Aws.Http;
using Monetization.Core;

namespace Monetization.Aws.Secrets;

/// <summary>AWS Secrets Manager's <c>GetSecretValue</c> (JSON 1.1), the one call the functions need at start.</summary>
public sealed class SecretsManagerClient
{
    private static readonly MediaTypeHeaderValue AmzJson = new("application/x-amz-json-1.1");

    private readonly HttpClient _http;

    public SecretsManagerClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    /// <returns>The secret's current <c>SecretString</c>.</returns>
    public async Task<Secret> GetSecretStringAsync(string secretId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(secretId);
        using var request = new HttpRequestMessage(HttpMethod.Post, AwsCall.Url(_http, "/"))
        {
            Content = JsonContent.Create(new GetSecretValueRequest(secretId), SecretsJsonContext.Default.GetSecretValueRequest, AmzJson),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "secretsmanager.GetSecretValue");
        using var response = await AwsCall.SendAsync(_http, request, "secretsmanager", "GetSecretValue", null, cancellationToken);
        var result = await response.Content.ReadFromJsonAsync(SecretsJsonContext.Default.GetSecretValueResult, cancellationToken);
        return result?.SecretString is { Length: > 0 } value
            ? new Secret(value)
            : throw new AwsServiceException($"Secret {secretId} has no SecretString.");
    }
}

internal sealed record GetSecretValueRequest([property: JsonPropertyName("SecretId")] string SecretId);

internal sealed record GetSecretValueResult([property: JsonPropertyName("SecretString")] string? SecretString);

[JsonSerializable(typeof(GetSecretValueRequest))]
[JsonSerializable(typeof(GetSecretValueResult))]
internal sealed partial class SecretsJsonContext : JsonSerializerContext;
