using System.Collections;

namespace Monetization.Lambda;

/// <summary>
/// The logging scope of one invocation: every line logged while it runs carries <c>AwsRequestId</c> and, when tracing
/// is on, <c>XRayTraceId</c> (the JSON console formatter writes a scope's pairs as properties).
/// </summary>
public sealed class InvocationScope(InvocationContext context) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string RequestIdName = "AwsRequestId";
    public const string TraceIdName = "XRayTraceId";

    private readonly InvocationContext _context = context ?? throw new ArgumentNullException(nameof(context));

    public int Count => _context.TraceId is null ? 1 : 2;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new(RequestIdName, _context.RequestId),
        1 when _context.TraceId is not null => new(TraceIdName, _context.TraceId),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => _context.TraceId is null
        ? $"{RequestIdName}:{_context.RequestId}"
        : $"{RequestIdName}:{_context.RequestId} {TraceIdName}:{_context.TraceId}";
}
