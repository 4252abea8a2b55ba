using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Monetization.Core;
using Monetization.Stripe.Operations;
using Polly.Timeout;

namespace Monetization.Stripe;

public sealed partial class StripeClient
{
    /// <summary>A 15-minute session for the meter event stream, authenticated with the secret key.</summary>
    public Task<StripeMeterEventSession> CreateMeterEventSessionAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        var key = _options.SecretKey ?? throw new InvalidOperationException("Stripe:SecretKey is not configured.");
        return SendJsonAsync(
            new Uri(_options.ApiBase, "/v2/billing/meter_event_session"),
            key,
            "{}",
            idempotencyKey,
            StripeV2JsonContext.Default.StripeMeterEventSession,
            cancellationToken);
    }

    /// <summary>Up to 100 events on the stream host, authenticated with the session's token; Stripe answers 202.</summary>
    public Task StreamMeterEventsAsync(MeterEventStreamRequest request, Secret sessionToken, string idempotencyKey, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Events.Count is 0 or > MeterEventStreamRequest.MaxEvents)
        {
            throw new ArgumentException($"The meter event stream takes 1 to {MeterEventStreamRequest.MaxEvents} events; got {request.Events.Count}.", nameof(request));
        }

        return SendJsonAsync(
            new Uri(_options.MeterEventsBase, "/v2/billing/meter_event_stream"),
            sessionToken,
            JsonSerializer.Serialize(request, StripeV2JsonContext.Default.MeterEventStreamRequest),
            idempotencyKey,
            StripeV2JsonContext.Default.StripeEmptyObject,
            cancellationToken);
    }

    private async Task<TResponse> SendJsonAsync<TResponse>(Uri target, Secret bearer, string body, string idempotencyKey, JsonTypeInfo<TResponse> responseType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, target)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer.Reveal());
        request.Headers.TryAddWithoutValidation("Stripe-Version", ApiVersion);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new StripeException($"Could not reach Stripe for POST {target.AbsolutePath}: {e.Message}", e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new StripeException($"Stripe did not answer POST {target.AbsolutePath} in time.", e);
        }

        using (response)
        {
            var requestId = response.Headers.TryGetValues("Request-Id", out var ids) ? ids.FirstOrDefault() : null;
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw ToException(response, text, requestId);
            }

            try
            {
                return JsonSerializer.Deserialize(text.Length == 0 ? "{}" : text, responseType)
                    ?? throw new StripeException("Stripe answered with an empty body.", (int)response.StatusCode, "api_error", null, null, requestId, null);
            }
            catch (JsonException e)
            {
                throw new StripeException("Stripe's answer could not be read.", (int)response.StatusCode, "api_error", null, null, requestId, e);
            }
        }
    }
}
