using System.Buffers;
using System.Collections;
using System.Text;
using System.Text.Json;

namespace Monetization.Portal.Hosting;

/// <summary>
/// The logging scope of one request on Lambda: every line logged while it runs carries <c>ApiGatewayRequestId</c> (the
/// <c>requestId</c> of the request context the Lambda Web Adapter passes as <c>x-amzn-request-context</c>) and
/// <c>XRayTraceId</c> (<c>X-Amzn-Trace-Id</c>). A request with neither header (local runs, tests) opens no scope.
/// </summary>
internal sealed class RequestScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string RequestContextHeader = "x-amzn-request-context";
    public const string TraceIdHeader = "X-Amzn-Trace-Id";
    public const string RequestIdName = "ApiGatewayRequestId";
    public const string TraceIdName = "XRayTraceId";

    /// <summary>Longer request contexts are not searched for their id: a scope must stay cheap.</summary>
    private const int MaxContextBytes = 16 * 1024;

    private readonly KeyValuePair<string, object?>[] _pairs;

    private RequestScope(KeyValuePair<string, object?>[] pairs) => _pairs = pairs;

    public int Count => _pairs.Length;

    public KeyValuePair<string, object?> this[int index] => _pairs[index];

    /// <summary>The scope of <paramref name="request"/>, or null when it carries neither id.</summary>
    public static RequestScope? From(HttpRequest request)
    {
        var traceId = request.Headers[TraceIdHeader].ToString();
        var requestId = RequestIdOf(request.Headers[RequestContextHeader].ToString());
        return (requestId, traceId.Length > 0 ? traceId : null) switch
        {
            (null, null) => null,
            ({ } id, null) => new RequestScope([new(RequestIdName, id)]),
            (null, { } trace) => new RequestScope([new(TraceIdName, trace)]),
            ({ } id, { } trace) => new RequestScope([new(RequestIdName, id), new(TraceIdName, trace)]),
        };
    }

    /// <summary>The top-level <c>requestId</c> of the request context's JSON, read without building a document.</summary>
    internal static string? RequestIdOf(string context)
    {
        if (context.Length is 0 or > MaxContextBytes)
        {
            return null;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(context.Length));
        try
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(0, Encoding.UTF8.GetBytes(context, buffer)));
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    var isRequestId = reader.ValueTextEquals("requestId"u8);
                    reader.Read();
                    if (isRequestId)
                    {
                        return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }

                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // A malformed context names no request: the line is logged without it.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return null;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_pairs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(' ', _pairs.Select(p => $"{p.Key}:{p.Value}"));
}
