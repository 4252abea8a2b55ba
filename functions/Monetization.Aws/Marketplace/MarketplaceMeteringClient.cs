using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using Monetization.Aws.Http;
using Monetization.Core;

namespace Monetization.Aws.Marketplace;

/// <summary>AWS Marketplace Metering (JSON 1.1). Refusals surface as <see cref="AwsServiceException"/>.</summary>
public sealed class MarketplaceMeteringClient
{
    public const int MaxRecordsPerBatch = 25;

    private const string Service = "aws-marketplace";
    private const string TargetPrefix = "AWSMPMeteringService";
    private static readonly MediaTypeHeaderValue AmzJson = new("application/x-amz-json-1.1");
    private static readonly MeteringJsonContext Json = MeteringJsonContext.Default;

    private readonly HttpClient _http;

    public MarketplaceMeteringClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    /// <remarks>The token is kept out of error messages even when the service echoes it back.</remarks>
    public Task<ResolveCustomerResult> ResolveCustomerAsync(Secret registrationToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registrationToken);
        return SendAsync(
            "ResolveCustomer",
            new ResolveCustomerRequest(registrationToken.Reveal()),
            Json.ResolveCustomerRequest,
            Json.ResolveCustomerResult,
            [registrationToken],
            cancellationToken);
    }

    public Task<BatchMeterUsageResult> BatchMeterUsageAsync(BatchMeterUsageRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.UsageRecords.Count is 0 or > MaxRecordsPerBatch)
        {
            throw new ArgumentException($"BatchMeterUsage takes 1 to {MaxRecordsPerBatch} records; got {request.UsageRecords.Count}.", nameof(request));
        }

        return SendAsync("BatchMeterUsage", request, Json.BatchMeterUsageRequest, Json.BatchMeterUsageResult, null, cancellationToken);
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        string operation,
        TRequest body,
        JsonTypeInfo<TRequest> bodyType,
        JsonTypeInfo<TResponse> responseType,
        IReadOnlyList<Secret>? secrets,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, AwsCall.Url(_http, "/"))
        {
            Content = JsonContent.Create(body, bodyType, AmzJson),
        };
        request.Headers.TryAddWithoutValidation("X-Amz-Target", $"{TargetPrefix}.{operation}");
        using var response = await AwsCall.SendAsync(_http, request, Service, operation, secrets, cancellationToken);
        return await response.Content.ReadFromJsonAsync(responseType, cancellationToken)
            ?? throw new AwsServiceException($"{Service} {operation} returned an empty body.");
    }
}
