using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.AwsStandIn;

/// <summary>
/// What moto lacks of API Gateway's usage plans: a demo API that checks <c>x-api-key</c> the way API Gateway does
/// (an enabled key in a usage plan covering the stage, else 403 <c>{"message":"Forbidden"}</c>; the plan's throttle and
/// quota answer 429) and counts each accepted request for its key and UTC day, and <c>GET /usageplans/{id}/usage</c>
/// answered from those counts in botocore's shape (the <c>items</c> map travels as <c>values</c>), paged by <c>position</c>. Keys, usage plans and plan keys are read
/// from moto, the source of truth, every page of them; put <see cref="AnswerAsync"/> in front of moto (a
/// <see cref="Faults.FaultProxy"/>) so a client sees one API Gateway.
/// Like production, GetUsage can lag (<see cref="UsageLag"/>: a request counts at once against the quota but shows in
/// GetUsage only that much later; AWS re:Post reports half an hour and more), and a key taken out of a plan is no longer
/// reported for it (AWS does not document that it is, so nothing may depend on it).
/// </summary>
public sealed class ApiGatewayUsageStandIn : IAsyncDisposable
{
    private const int DefaultLimit = 25;
    private const int MaxLimit = 500;
    private static readonly TimeSpan SnapshotAge = TimeSpan.FromSeconds(1);

    private readonly HttpClient _moto;
    private readonly string _restApiId;
    private readonly string _stage;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string Plan, string Key, DateOnly Day), long> _counts = new();
    private readonly ConcurrentDictionary<(string Plan, string Key, DateOnly Day), long> _hidden = new();
    private readonly ConcurrentQueue<(DateTimeOffset At, (string Plan, string Key, DateOnly Day) Count, long Requests)> _recent = new();
    private readonly ConcurrentDictionary<(string Plan, string Key), bool> _removed = new();
    private readonly ConcurrentDictionary<string, TokenBucket> _buckets = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private Snapshot? _snapshot;
    private long _countsVersion;
    private int _getUsageRequests;
    private PageKeys? _pageKeys;
    private WebApplication? _app;

    private ApiGatewayUsageStandIn(HttpClient moto, string restApiId, string stage, TimeProvider time, Uri endpoint)
    {
        _moto = moto;
        _restApiId = restApiId;
        _stage = stage;
        _time = time;
        DemoApiEndpoint = endpoint;
    }

    /// <summary>The demo API: any path under <c>/{stage}/</c>, keyed by the <c>x-api-key</c> header.</summary>
    public Uri DemoApiEndpoint { get; }

    /// <param name="moto">A client signed for moto's API Gateway; the stand-in owns it from here on.</param>
    public static Task<ApiGatewayUsageStandIn> StartAsync(HttpClient moto, string restApiId, string stage, TimeProvider? time = null, CancellationToken cancellationToken = default) =>
        LoopbackServer.StartOnFreePortAsync(
            endpoint => new ApiGatewayUsageStandIn(moto, restApiId, stage, time ?? TimeProvider.System, endpoint),
            (server, port, ct) => server.StartServerAsync(port, ct),
            cancellationToken);

    /// <summary>How long a counted request takes to show in GetUsage; zero (the default) shows it at once.</summary>
    public TimeSpan UsageLag { get; set; }

    /// <summary>Adds to a key's count of a day as if that many requests had been accepted (tests, the benchmark).</summary>
    public void Count(string usagePlanId, string apiKeyId, DateOnly day, long requests)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(requests);
        var count = (usagePlanId, apiKeyId, day);
        if (UsageLag > TimeSpan.Zero)
        {
            _hidden.AddOrUpdate(count, requests, (_, n) => n + requests);
            _recent.Enqueue((_time.GetUtcNow(), count, requests));
        }

        _counts.AddOrUpdate(count, requests, (_, n) => n + requests);
        Interlocked.Increment(ref _countsVersion);
    }

    /// <summary>What GetUsage shows of a key's day now: its count less what is still inside <see cref="UsageLag"/>.</summary>
    public long ReportedOf(string usagePlanId, string apiKeyId, DateOnly day)
    {
        Reveal();
        return CountOf(usagePlanId, apiKeyId, day) - _hidden.GetValueOrDefault((usagePlanId, apiKeyId, day));
    }

    /// <summary>GetUsage pages answered so far.</summary>
    public int GetUsageRequests => Volatile.Read(ref _getUsageRequests);

    public long CountOf(string usagePlanId, string apiKeyId, DateOnly day) => _counts.GetValueOrDefault((usagePlanId, apiKeyId, day));

    /// <summary>
    /// Answers GetUsage; returns <c>false</c> for every other request (to be forwarded to moto), noting on the way which
    /// keys leave a plan (DeleteUsagePlanKey) or join one again (CreateUsagePlanKey).
    /// </summary>
    public async Task<bool> AnswerAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var segments = (context.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (HttpMethods.IsDelete(context.Request.Method) && segments is ["usageplans", var leftPlan, "keys", var leftKey])
        {
            _removed[(Uri.UnescapeDataString(leftPlan), Uri.UnescapeDataString(leftKey))] = true;
            Interlocked.Increment(ref _countsVersion);
            return false;
        }

        if (HttpMethods.IsPost(context.Request.Method) && segments is ["usageplans", var joinedPlan, "keys"])
        {
            context.Request.EnableBuffering();
            var joined = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            context.Request.Body.Position = 0;
            if (joined?["keyId"]?.GetValue<string>() is { } joinedKey)
            {
                _removed.TryRemove((Uri.UnescapeDataString(joinedPlan), joinedKey), out _);
                Interlocked.Increment(ref _countsVersion);
            }

            return false;
        }

        if (!HttpMethods.IsGet(context.Request.Method) || segments is not ["usageplans", var planId, "usage"])
        {
            return false;
        }

        var (status, type, body) = await GetUsageAsync(Uri.UnescapeDataString(planId), context.Request.Query, context.RequestAborted);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        if (type is not null)
        {
            context.Response.Headers["x-amzn-ErrorType"] = type;
        }

        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        _moto.Dispose();
        _refresh.Dispose();
    }

    private async Task StartServerAsync(int port, CancellationToken cancellationToken)
    {
        var app = LoopbackServer.CreateApp(port);
        _app = app;
        app.Run(HandleDemoAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task HandleDemoAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "/";
        if (!path.StartsWith($"/{_stage}/", StringComparison.Ordinal) && path != $"/{_stage}")
        {
            await WriteAsync(context, 403, new JsonObject { ["message"] = "Forbidden" });
            return;
        }

        var value = context.Request.Headers["x-api-key"].ToString();
        var snapshot = await SnapshotAsync(false, context.RequestAborted);
        if (value.Length > 0 && !snapshot.KeysByValue.ContainsKey(value))
        {
            snapshot = await SnapshotAsync(true, context.RequestAborted);
        }

        if (value.Length == 0 || !snapshot.KeysByValue.TryGetValue(value, out var key) || !key.Enabled
            || snapshot.PlanOfKey.GetValueOrDefault(key.Id) is not { } plan)
        {
            await WriteAsync(context, 403, new JsonObject { ["message"] = "Forbidden" });
            return;
        }

        var now = _time.GetUtcNow();
        if (plan.RateLimit is { } rate && !_buckets.GetOrAdd(key.Id, _ => new TokenBucket(plan.BurstLimit ?? (int)Math.Ceiling(rate), rate, now)).TryTake(now))
        {
            await WriteAsync(context, 429, new JsonObject { ["message"] = "Too Many Requests" });
            return;
        }

        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (plan.QuotaLimit is { } limit && UsedInPeriod(plan, key.Id, today) >= limit)
        {
            await WriteAsync(context, 429, new JsonObject { ["message"] = "Limit Exceeded" });
            return;
        }

        Count(plan.Id, key.Id, today, 1);
        await WriteAsync(context, 200, new JsonObject { ["message"] = "Hello from the demo API", ["path"] = path });
    }

    private long UsedInPeriod(PlanInfo plan, string keyId, DateOnly today)
    {
        var first = plan.QuotaPeriod switch
        {
            "WEEK" => today.AddDays(-(((int)today.DayOfWeek + 6) % 7)),
            "MONTH" => new DateOnly(today.Year, today.Month, 1),
            _ => today,
        };
        long used = 0;
        for (var day = first; day <= today; day = day.AddDays(1))
        {
            used += CountOf(plan.Id, keyId, day);
        }

        return used;
    }

    private async Task<(int Status, string? Type, JsonObject Body)> GetUsageAsync(string planId, IQueryCollection query, CancellationToken cancellationToken)
    {
        if (!DateOnly.TryParseExact(query["startDate"].ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var start)
            || !DateOnly.TryParseExact(query["endDate"].ToString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var end))
        {
            return (400, "BadRequestException", new JsonObject { ["message"] = "Invalid start or end date; use YYYY-MM-DD." });
        }

        if (end < start)
        {
            return (400, "BadRequestException", new JsonObject { ["message"] = "The usage data's end date must not be before its start date." });
        }

        var limit = DefaultLimit;
        if (query.ContainsKey("limit") && (!int.TryParse(query["limit"], CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return (400, "BadRequestException", new JsonObject { ["message"] = $"limit must be between 1 and {MaxLimit}." });
        }

        var offset = 0;
        if (query.ContainsKey("position") && (!int.TryParse(query["position"], CultureInfo.InvariantCulture, out offset) || offset < 0))
        {
            return (400, "BadRequestException", new JsonObject { ["message"] = "Invalid position." });
        }

        var snapshot = await SnapshotAsync(false, cancellationToken);
        if (!snapshot.Plans.ContainsKey(planId))
        {
            snapshot = await SnapshotAsync(true, cancellationToken);
        }

        if (!snapshot.Plans.TryGetValue(planId, out var plan))
        {
            return (404, "NotFoundException", new JsonObject { ["message"] = "Invalid Usage Plan ID specified" });
        }

        Interlocked.Increment(ref _getUsageRequests);
        var keys = KeysOf(planId, start, end, snapshot);
        if (query["keyId"].ToString() is { Length: > 0 } keyId)
        {
            keys = keys.Contains(keyId) ? [keyId] : [];
        }

        var page = offset >= keys.Count ? [] : keys.GetRange(offset, Math.Min(limit, keys.Count - offset));
        var items = new JsonObject();
        foreach (var key in page)
        {
            var days = new JsonArray();
            for (var day = start; day <= end; day = day.AddDays(1))
            {
                var used = ReportedOf(planId, key, day);
                days.Add(new JsonArray(used, plan.QuotaLimit is { } quota ? Math.Max(0, quota - used) : 0));
            }

            items[key] = days;
        }

        var body = new JsonObject
        {
            ["usagePlanId"] = planId,
            ["startDate"] = start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["endDate"] = end.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            // The model's member is "items"; on the wire it is "values" (its locationName).
            ["values"] = items,
        };
        if (offset + page.Count < keys.Count)
        {
            body["position"] = (offset + page.Count).ToString(CultureInfo.InvariantCulture);
        }

        return (200, null, body);
    }

    /// <summary>
    /// The plan's keys in id order: its members in moto and every key counted under it in the range. Kept while
    /// neither changes, so paging through a hundred thousand keys does not sort them once a page.
    /// </summary>
    private List<string> KeysOf(string planId, DateOnly start, DateOnly end, Snapshot snapshot)
    {
        var version = Volatile.Read(ref _countsVersion);
        if (Volatile.Read(ref _pageKeys) is { } cached && cached.PlanId == planId && cached.Start == start && cached.End == end
            && cached.Version == version && ReferenceEquals(cached.Snapshot, snapshot))
        {
            return cached.Keys;
        }

        var keys = new SortedSet<string>(StringComparer.Ordinal);
        keys.UnionWith(snapshot.PlanOfKey.Where(p => p.Value.Id == planId).Select(p => p.Key));
        keys.UnionWith(_counts.Keys.Where(k => k.Plan == planId && k.Day >= start && k.Day <= end).Select(k => k.Key));
        keys.ExceptWith(_removed.Keys.Where(k => k.Plan == planId).Select(k => k.Key));
        var list = keys.ToList();
        Volatile.Write(ref _pageKeys, new PageKeys(planId, start, end, version, snapshot, list));
        return list;
    }

    /// <summary>
    /// moto's keys and plans, read again when older than a second or when a caller names something unknown (a key or
    /// plan created since), so a burst of requests costs moto one read.
    /// </summary>
    private async Task<Snapshot> SnapshotAsync(bool force, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var seen = Volatile.Read(ref _snapshot);
        if (!force && seen is not null && now - seen.ReadAt < SnapshotAge)
        {
            return seen;
        }

        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Someone else refreshed while this caller waited: that read is as new as this one would be.
            if (_snapshot is { } current && !ReferenceEquals(current, seen))
            {
                return current;
            }

            var keysByValue = new Dictionary<string, KeyInfo>(StringComparer.Ordinal);
            foreach (var k in await GetAllItemsAsync("/apikeys?includeValues=true", cancellationToken))
            {
                var key = new KeyInfo(k["id"]!.GetValue<string>(), k["value"]?.GetValue<string>() ?? string.Empty, k["enabled"]?.GetValue<bool>() ?? false);
                if (key.Value.Length > 0)
                {
                    // Assigned, not added: a list read in pages while keys are created may show a key twice.
                    keysByValue[key.Value] = key;
                }
            }

            var plans = new Dictionary<string, PlanInfo>(StringComparer.Ordinal);
            var planOfKey = new Dictionary<string, PlanInfo>(StringComparer.Ordinal);
            foreach (var node in await GetAllItemsAsync("/usageplans", cancellationToken))
            {
                var plan = new PlanInfo(
                    node["id"]!.GetValue<string>(),
                    node["throttle"]?["rateLimit"]?.GetValue<double>(),
                    node["throttle"]?["burstLimit"]?.GetValue<int>(),
                    node["quota"]?["limit"]?.GetValue<long>(),
                    node["quota"]?["period"]?.GetValue<string>());
                plans[plan.Id] = plan;
                var coversStage = node["apiStages"] is JsonArray stages
                    && stages.Any(s => s?["apiId"]?.GetValue<string>() == _restApiId && s["stage"]?.GetValue<string>() == _stage);
                if (!coversStage)
                {
                    continue;
                }

                foreach (var member in await GetAllItemsAsync($"/usageplans/{Uri.EscapeDataString(plan.Id)}/keys", cancellationToken))
                {
                    planOfKey[member["id"]!.GetValue<string>()] = plan;
                }
            }

            var snapshot = new Snapshot(now, keysByValue, plans, planOfKey);
            Volatile.Write(ref _snapshot, snapshot);
            return snapshot;
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>
    /// Every item of an API Gateway list, following <c>position</c> to the last page at API Gateway's largest page
    /// (500; without <c>limit</c> it answers 25). moto ignores both and answers everything on the first page, so against
    /// moto this is one read; against API Gateway's paging (<see cref="ApiGatewayPaging"/>) it is one read per 500.
    /// </summary>
    private async Task<List<JsonNode>> GetAllItemsAsync(string path, CancellationToken cancellationToken)
    {
        var items = new List<JsonNode>();
        var positions = new HashSet<string>(StringComparer.Ordinal);
        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        string? position = null;
        do
        {
            var page = $"{path}{separator}limit={MaxLimit.ToString(CultureInfo.InvariantCulture)}"
                + (position is null ? string.Empty : $"&position={Uri.EscapeDataString(position)}");
            using var response = await _moto.GetAsync(new Uri(_moto.BaseAddress!, page), cancellationToken);
            response.EnsureSuccessStatusCode();
            var document = await JsonNode.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
            if (document?["item"] is JsonArray array)
            {
                items.AddRange(array.OfType<JsonNode>());
            }

            position = document?["position"]?.GetValue<string>() is { Length: > 0 } next ? next : null;

            // A service that hands back a position it already gave would be read forever; that is a fault, not the end.
            if (position is not null && !positions.Add(position))
            {
                throw new InvalidOperationException($"GET {path} answered the position {position} twice.");
            }
        }
        while (position is not null);

        return items;
    }

    /// <summary>Lets GetUsage show the requests counted <see cref="UsageLag"/> ago or earlier.</summary>
    private void Reveal()
    {
        var shownBy = _time.GetUtcNow() - UsageLag;
        lock (_recent)
        {
            while (_recent.TryPeek(out var head) && head.At <= shownBy && _recent.TryDequeue(out var shown))
            {
                _hidden.AddOrUpdate(shown.Count, 0, (_, n) => n - shown.Requests);
            }
        }
    }

    private static async Task WriteAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private sealed record PageKeys(string PlanId, DateOnly Start, DateOnly End, long Version, Snapshot Snapshot, List<string> Keys);

    private sealed record KeyInfo(string Id, string Value, bool Enabled);

    private sealed record PlanInfo(string Id, double? RateLimit, int? BurstLimit, long? QuotaLimit, string? QuotaPeriod);

    private sealed record Snapshot(DateTimeOffset ReadAt, Dictionary<string, KeyInfo> KeysByValue, Dictionary<string, PlanInfo> Plans, Dictionary<string, PlanInfo> PlanOfKey);
}
