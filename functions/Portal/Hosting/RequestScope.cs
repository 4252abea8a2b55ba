using System.Collections;

namespace Monetization.Portal.Hosting;

/// <summary>
/// The logging scope of one request on Lambda: every line logged while it runs carries <c>ApiGatewayRequestId</c> (the
/// <c>requestId</c> of the request context the Lambda Web Adapter passes, <see cref="LambdaRequestContext"/>) and
/// <c>XRayTraceId</c> (<c>X-Amzn-Trace-Id</c>). A request with neither header (local runs, tests) opens no scope.
/// </summary>
internal sealed class RequestScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string TraceIdHeader = "X-Amzn-Trace-Id";
    public const string RequestIdName = "ApiGatewayRequestId";
    public const string TraceIdName = "XRayTraceId";

    private readonly KeyValuePair<string, object?>[] _pairs;

    private RequestScope(KeyValuePair<string, object?>[] pairs) => _pairs = pairs;

    public int Count => _pairs.Length;

    public KeyValuePair<string, object?> this[int index] => _pairs[index];

    /// <summary>The scope of <paramref name="request"/>, or null when it carries neither id.</summary>
    public static RequestScope? From(HttpRequest request)
    {
        var traceId = request.Headers[TraceIdHeader].ToString();
        var requestId = LambdaRequestContext.RequestIdOf(request.Headers[LambdaRequestContext.Header].ToString());
        return (requestId, traceId.Length > 0 ? traceId : null) switch
        {
            (null, null) => null,
            ({ } id, null) => new RequestScope([new(RequestIdName, id)]),
            (null, { } trace) => new RequestScope([new(TraceIdName, trace)]),
            ({ } id, { } trace) => new RequestScope([new(RequestIdName, id), new(TraceIdName, trace)]),
        };
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_pairs).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(' ', _pairs.Select(p => $"{p.Key}:{p.Value}"));
}
