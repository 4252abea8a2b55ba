using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.AwsStandIn;

/// <summary>
/// API Gateway's fixed quotas for managing APIs, per account and Region, which cannot be raised (developer guide,
/// "API Gateway quotas for creating, deploying and managing an API"): CreateApiKey and DeleteApiKey 5 requests a
/// second, UpdateUsagePlan one every 20 seconds, GetResources 5 every 2 seconds, and all operations together 10 a
/// second with a burst of 40. Each is a token bucket; a request takes a token from its action's bucket (if it has
/// one) and from the total, or from neither. Over a quota the request is answered as API Gateway answers it: 429,
/// <c>x-amzn-ErrorType: TooManyRequestsException</c>, <c>Retry-After</c> in seconds (botocore's model puts the
/// exception's <c>retryAfterSeconds</c> there) and <c>{"message":"Too Many Requests"}</c>.
/// </summary>
public sealed class ApiGatewayControlPlaneQuotas(TimeProvider? time = null)
{
    public const string CreateApiKey = "CreateApiKey";
    public const string DeleteApiKey = "DeleteApiKey";
    public const string ImportApiKeys = "ImportApiKeys";
    public const string UpdateUsagePlan = "UpdateUsagePlan";
    public const string GetResources = "GetResources";

    /// <summary>Every operation together: 10 a second, a burst of 40.</summary>
    public const double TotalRate = 10;

    public const double TotalBurst = 40;

    private static readonly Dictionary<string, (double Capacity, double Rate)> ActionQuotas = new(StringComparer.Ordinal)
    {
        [CreateApiKey] = (5, 5),
        [DeleteApiKey] = (5, 5),
        [UpdateUsagePlan] = (1, 1.0 / 20),
        [GetResources] = (5, 5.0 / 2),
    };

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _lock = new();
    private readonly ConcurrentDictionary<string, int> _accepted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _refused = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Action, DateTimeOffset At)> _log = new();
    private TokenBucket? _total;
    private Dictionary<string, TokenBucket>? _actions;

    /// <summary>Whether the quotas are enforced; off, every request passes and is still counted.</summary>
    public bool Enforced { get; set; }

    /// <summary>Requests let through, per action (<see cref="ActionOf"/>).</summary>
    public IReadOnlyDictionary<string, int> Accepted => _accepted;

    /// <summary>Requests answered 429, per action.</summary>
    public IReadOnlyDictionary<string, int> Refused => _refused;

    /// <summary>Every request let through, in order, with when.</summary>
    public IReadOnlyList<(string Action, DateTimeOffset At)> Log => [.. _log];

    /// <summary>
    /// The operation a request to API Gateway's control plane is, by its method and path as botocore's model maps them;
    /// every operation counts against the total, and these have quotas of their own.
    /// </summary>
    public static string ActionOf(string method, string path, IQueryCollection query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return (method.ToUpperInvariant(), segments) switch
        {
            ("POST", ["apikeys"]) when string.Equals(query["mode"], "import", StringComparison.Ordinal) => ImportApiKeys,
            ("POST", ["apikeys"]) => CreateApiKey,
            ("DELETE", ["apikeys", _]) => DeleteApiKey,
            ("PATCH", ["usageplans", _]) => UpdateUsagePlan,
            ("GET", ["restapis", _, "resources"]) => GetResources,
            var (verb, _) => $"{verb} {(segments.Length == 0 ? "/" : segments[0])}",
        };
    }

    /// <summary>
    /// Lets the request through (returns <c>false</c>, so it is answered as usual) or answers it with API Gateway's
    /// throttling error (returns <c>true</c>).
    /// </summary>
    public async Task<bool> RefuseAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!IsApiGateway(context.Request))
        {
            return false;
        }

        var action = ActionOf(context.Request.Method, context.Request.Path.Value ?? "/", context.Request.Query);
        var wait = Take(action);
        if (wait is null)
        {
            _accepted.AddOrUpdate(action, 1, (_, n) => n + 1);
            return false;
        }

        _refused.AddOrUpdate(action, 1, (_, n) => n + 1);
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.ContentType = "application/json";
        context.Response.Headers["x-amzn-ErrorType"] = "TooManyRequestsException";
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.Value.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        await context.Response.WriteAsync(new JsonObject { ["message"] = "Too Many Requests" }.ToJsonString(), context.RequestAborted);
        return true;
    }

    /// <summary>Signed for API Gateway (SigV4 credential scope <c>…/apigateway/aws4_request</c>): other services share the endpoint.</summary>
    private static bool IsApiGateway(HttpRequest request) =>
        request.Headers.Authorization.ToString() is var authorization
        && authorization.Contains("/apigateway/aws4_request", StringComparison.Ordinal);

    /// <returns>Null when the request may pass (its tokens taken); else how long until it could.</returns>
    private TimeSpan? Take(string action)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (Enforced)
            {
                _total ??= new TokenBucket(TotalBurst, TotalRate, now);
                _actions ??= ActionQuotas.ToDictionary(q => q.Key, q => new TokenBucket(q.Value.Capacity, q.Value.Rate, now), StringComparer.Ordinal);
                var own = _actions.GetValueOrDefault(action);
                if (!_total.HasToken(now) || own?.HasToken(now) == false)
                {
                    var totalWait = _total.Wait(now);
                    var ownWait = own?.Wait(now) ?? TimeSpan.Zero;
                    return totalWait > ownWait ? totalWait : ownWait;
                }

                _total.TryTake(now);
                own?.TryTake(now);
            }

            _log.Enqueue((action, now));
            return null;
        }
    }
}
