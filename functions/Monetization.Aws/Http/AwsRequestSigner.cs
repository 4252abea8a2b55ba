using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;
using Amazon.Util;

namespace Monetization.Aws.Http;

/// <summary>
/// Signs an <see cref="HttpRequestMessage"/> with SigV4. The canonical request is built here from the message exactly
/// as it goes on the wire; the string to sign, the derived key and the HMAC come from AWSSDK.Core's
/// <see cref="AWS4Signer"/>. Its instance <c>SignRequest</c> works on the SDK's own request pipeline objects
/// (<c>IRequest</c>, <c>ClientConfig</c>, clock-skew state), which an HttpClient-based client does not have.
/// </summary>
public static class AwsRequestSigner
{
    public const string DateHeader = "X-Amz-Date";
    public const string SecurityTokenHeader = "X-Amz-Security-Token";
    public const string ContentHashHeader = "X-Amz-Content-SHA256";

    /// <summary>
    /// Headers that proxies or the HTTP stack may add or rewrite. The trace headers matter on retries: the runtime's
    /// diagnostics handler sets them below this handler and replaces them on every attempt.
    /// </summary>
    private static readonly HashSet<string> Unsigned = new(StringComparer.OrdinalIgnoreCase)
    {
        "authorization", "user-agent", "expect", "x-amzn-trace-id", "content-length", "transfer-encoding", "connection",
        "traceparent", "tracestate", "request-id", "baggage", "correlation-context",
    };

    /// <param name="sendContentHash">
    /// Sends and signs <c>X-Amz-Content-SHA256</c>. Optional in SigV4 outside S3, but it lets a verifier that cannot
    /// see the raw body (moto recomputes bodyless requests from their parsed parameters) check the signature.
    /// </param>
    public static void Sign(
        HttpRequestMessage request,
        ReadOnlySpan<byte> body,
        ImmutableCredentials credentials,
        string region,
        string service,
        DateTimeOffset now,
        bool sendContentHash = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(service);
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        if (!uri.IsAbsoluteUri)
        {
            throw new ArgumentException("The request URI must be absolute when it is signed.", nameof(request));
        }

        var signedAt = now.UtcDateTime;
        request.Headers.Remove("Authorization");
        request.Headers.Remove(DateHeader);
        request.Headers.Remove(SecurityTokenHeader);
        request.Headers.Remove(ContentHashHeader);
        var payloadHash = PayloadHash(body);
        if (sendContentHash)
        {
            request.Headers.TryAddWithoutValidation(ContentHashHeader, payloadHash);
        }

        request.Headers.TryAddWithoutValidation(DateHeader, signedAt.ToString(AWSSDKUtils.ISO8601BasicDateTimeFormat, CultureInfo.InvariantCulture));
        if (credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation(SecurityTokenHeader, credentials.Token);
        }

        var headers = CanonicalHeaders(request, uri);
        var signedHeaders = string.Join(';', headers.Keys);
        var canonicalRequest = new StringBuilder()
            .Append(request.Method.Method).Append('\n')
            .Append(CanonicalPath(uri)).Append('\n')
            .Append(CanonicalQuery(uri)).Append('\n');
        foreach (var (name, value) in headers)
        {
            canonicalRequest.Append(name).Append(':').Append(value).Append('\n');
        }

        canonicalRequest.Append('\n').Append(signedHeaders).Append('\n').Append(payloadHash);

        var result = AWS4Signer.ComputeSignature(credentials, region, signedAt, service, signedHeaders, canonicalRequest.ToString());
        request.Headers.TryAddWithoutValidation("Authorization", result.ForAuthorizationHeader);
    }

    public static string PayloadHash(ReadOnlySpan<byte> body) =>
        body.IsEmpty ? AWS4Signer.EmptyBodySha256 : AWSSDKUtils.ToHex(AWS4Signer.ComputeHash(body.ToArray()), true);

    private static SortedDictionary<string, string> CanonicalHeaders(HttpRequestMessage request, Uri uri)
    {
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["host"] = request.Headers.Host ?? uri.Authority,
        };
        var all = request.Content is null ? request.Headers : request.Headers.Concat(request.Content.Headers);
        foreach (var (name, values) in all)
        {
            var lower = name.ToLowerInvariant();
            if (Unsigned.Contains(lower) || lower == "host")
            {
                continue;
            }

            headers[lower] = string.Join(',', values.Select(Trim));
        }

        return headers;
    }

    private static string Trim(string value) => string.Join(' ', value.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Every service but S3 signs the path with each segment encoded once more than it travels.</summary>
    private static string CanonicalPath(Uri uri)
    {
        var path = uri.AbsolutePath;
        if (path.Length == 0)
        {
            return "/";
        }

        return string.Join('/', path.Split('/').Select(Uri.EscapeDataString));
    }

    private static string CanonicalQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return string.Empty;
        }

        var pairs = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair =>
            {
                var equals = pair.IndexOf('=', StringComparison.Ordinal);
                var key = equals < 0 ? pair : pair[..equals];
                var value = equals < 0 ? string.Empty : pair[(equals + 1)..];
                return (Key: Uri.EscapeDataString(Uri.UnescapeDataString(key)), Value: Uri.EscapeDataString(Uri.UnescapeDataString(value)));
            })
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal);
        return string.Join('&', pairs.Select(p => $"{p.Key}={p.Value}"));
    }
}
