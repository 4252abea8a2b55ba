using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Monetization.Core;
using Monetization.Stripe.Operations;
using Monetization.Stripe.Wire;
using Polly.Timeout;

namespace Monetization.Stripe;

/// <summary>
/// A small typed Stripe client. Every call goes through <see cref="SendAsync{TResponse}"/>; retries and per-attempt
/// timeouts live in <see cref="StripeRetryHandler"/> underneath the <see cref="HttpClient"/>. Stripe not answering
/// usably after them (unreachable, timed out, rate limited, 5xx) is a <see cref="DependencyUnavailableException"/>
/// around the <see cref="StripeException"/>; Stripe refusing the request is the <see cref="StripeException"/> itself.
/// </summary>
public sealed partial class StripeClient
{
    /// <summary>
    /// Pinned so Stripe's answers keep their shape whatever the account's default is. 2025-03-31.basil is the
    /// release that made metered prices meter-backed and removed legacy usage records, and the one whose object
    /// shapes (billing periods on subscription items) this client reads.
    /// </summary>
    public const string ApiVersion = "2025-03-31.basil";

    private readonly HttpClient _http;
    private readonly StripeOptions _options;

    public StripeClient(HttpClient http, IOptions<StripeOptions> options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options.Value;
    }

    /// <param name="idempotencyKey">
    /// Required for POST: derive it from the ledger so a retried flow (another Lambda attempt included) replays
    /// Stripe's first answer instead of creating a second object.
    /// </param>
    public async Task<TResponse> SendAsync<TResponse>(IStripeOperation<TResponse> operation, string? idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(operation);
        if (operation.Method == HttpMethod.Post && string.IsNullOrEmpty(idempotencyKey))
        {
            throw new ArgumentException("A POST to Stripe needs an idempotency key derived from the ledger.", nameof(idempotencyKey));
        }

        using var request = BuildRequest(operation, idempotencyKey);
        var operationName = $"{operation.Method} {operation.Path}";
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw Unavailable(operationName, new StripeException($"Could not reach Stripe for {operationName}: {e.Message}", e));
        }
        catch (Exception e) when (e is TimeoutRejectedException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw Unavailable(operationName, new StripeException($"Stripe did not answer {operationName} in time.", e));
        }

        using (response)
        {
            var requestId = response.Headers.TryGetValues("Request-Id", out var ids) ? ids.FirstOrDefault() : null;
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                var refusal = ToException(response, body, requestId);
                throw IsUnavailable(response) ? Unavailable(operationName, refusal) : refusal;
            }

            try
            {
                return JsonSerializer.Deserialize(body, operation.ResponseType)
                    ?? throw new StripeException("Stripe answered with an empty body.", (int)response.StatusCode, "api_error", null, null, requestId, null);
            }
            catch (JsonException e)
            {
                throw new StripeException("Stripe's answer could not be read.", (int)response.StatusCode, "api_error", null, null, requestId, e);
            }
        }
    }

    public Task<StripeCustomer> CreateCustomerAsync(CreateCustomer operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeCustomer> UpdateCustomerMetadataAsync(UpdateCustomerMetadata operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeList<StripeCustomer>> ListCustomersByEmailAsync(ListCustomersByEmail operation, CancellationToken cancellationToken) =>
        SendAsync(operation, null, cancellationToken);

    public Task<StripeProduct> CreateProductAsync(CreateProduct operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeMeter> CreateMeterAsync(CreateMeter operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripePrice> CreateMeteredPriceAsync(CreateMeteredPrice operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeSubscription> CreateSubscriptionAsync(CreateSubscription operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeSubscription> RetrieveSubscriptionAsync(RetrieveSubscription operation, CancellationToken cancellationToken) =>
        SendAsync(operation, null, cancellationToken);

    public Task<StripeSubscription> CancelSubscriptionAsync(CancelSubscription operation, string? idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeMeterEvent> CreateMeterEventAsync(CreateMeterEvent operation, string idempotencyKey, CancellationToken cancellationToken) =>
        SendAsync(operation, idempotencyKey, cancellationToken);

    public Task<StripeList<StripeMeterEventSummary>> ListMeterEventSummariesAsync(ListMeterEventSummaries operation, CancellationToken cancellationToken) =>
        SendAsync(operation, null, cancellationToken);

    private HttpRequestMessage BuildRequest<TResponse>(IStripeOperation<TResponse> operation, string? idempotencyKey)
    {
        var form = new StripeForm();
        operation.WriteParameters(form);
        var encoded = form.Encode();
        // Stripe's own libraries send DELETE parameters (invoice_now) in the query string, as for GET.
        var sendInQuery = operation.Method == HttpMethod.Get || operation.Method == HttpMethod.Delete;
        var target = new Uri(_options.ApiBase, sendInQuery && encoded.Length > 0 ? $"{operation.Path}?{encoded}" : operation.Path);
        var request = new HttpRequestMessage(operation.Method, target);
        var key = _options.SecretKey ?? throw new InvalidOperationException("Stripe:SecretKey is not configured.");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Reveal());
        request.Headers.TryAddWithoutValidation("Stripe-Version", ApiVersion);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (!string.IsNullOrEmpty(idempotencyKey))
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        if (!sendInQuery && encoded.Length > 0)
        {
            request.Content = new StringContent(encoded, Encoding.UTF8, "application/x-www-form-urlencoded");
        }

        return request;
    }

    /// <summary>
    /// Rate limited or failing after the retries, unless Stripe said another try would not help (a stored result, say):
    /// that is Stripe's final word on the request, not an outage.
    /// </summary>
    private static bool IsUnavailable(HttpResponseMessage response) =>
        ((int)response.StatusCode >= 500 || response.StatusCode == System.Net.HttpStatusCode.TooManyRequests)
        && !(response.Headers.TryGetValues("Stripe-Should-Retry", out var advice) && string.Equals(advice.FirstOrDefault(), "false", StringComparison.OrdinalIgnoreCase));

    private static DependencyUnavailableException Unavailable(string operation, StripeException cause) => new("stripe", operation, cause);

    private static StripeException ToException(HttpResponseMessage response, string body, string? requestId)
    {
        StripeErrorBody? error = null;
        try
        {
            error = JsonSerializer.Deserialize(body, StripeJsonContext.Default.StripeErrorEnvelope)?.Error;
        }
        catch (JsonException)
        {
            // Not Stripe's error shape (a proxy in between, say); the status still tells what happened.
        }

        var status = (int)response.StatusCode;
        return new StripeException(
            error?.Message ?? $"Stripe answered {status} {response.ReasonPhrase}.",
            status,
            error?.Type ?? "api_error",
            error?.Code,
            error?.Param,
            requestId,
            null);
    }
}
