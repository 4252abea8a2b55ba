using Monetization.Core;

namespace Monetization.Stripe;

/// <summary>How to reach Stripe and what to bill. Bound by the host; validated at start.</summary>
public sealed class StripeOptions
{
    public Secret? SecretKey { get; set; }

    /// <summary>Where the v1 API (and the v2 meter event session) is served.</summary>
    public Uri ApiBase { get; set; } = new("https://api.stripe.com");

    /// <summary>Where the v2 meter event stream is served (its own host at Stripe).</summary>
    public Uri MeterEventsBase { get; set; } = new("https://meter-events.stripe.com");

    /// <summary>Batches of at least this many meter events go through the v2 stream; smaller ones are v1 calls.</summary>
    public int MeterEventStreamThreshold { get; set; } = 10;

    /// <summary>The metered price every subscription is created on (<c>price_…</c>).</summary>
    public string PriceId { get; set; } = string.Empty;

    /// <summary>The <c>event_name</c> of the billing meter behind <see cref="PriceId"/>.</summary>
    public string MeterEventName { get; set; } = string.Empty;

    /// <summary>How long one HTTP attempt may take before it is abandoned (and retried).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Retries after the first attempt for retryable failures; 0 turns retrying off.</summary>
    public int MaxRetries { get; set; } = 2;

    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The least a retry waits after a 429: rate limits clear more slowly than transient faults.</summary>
    public TimeSpan RateLimitDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A base URI as Stripe.net wants it: it appends each path (<c>/v1/...</c>) to the string, so a trailing slash
    /// would make every path start with two.
    /// </summary>
    public static string BaseUrl(Uri baseUri)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        return baseUri.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }
}
