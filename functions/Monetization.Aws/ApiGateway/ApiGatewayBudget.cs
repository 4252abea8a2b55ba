using System.Globalization;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Microsoft.Extensions.Logging;
using Monetization.Aws.Ledger;
using Monetization.Core;

namespace Monetization.Aws.ApiGateway;

/// <summary>The <c>ApiGatewayBudget</c> section: how much of API Gateway's account-wide control-plane quotas this stack takes.</summary>
public sealed class ApiGatewayBudgetOptions
{
    public const string Section = "ApiGatewayBudget";

    /// <summary>
    /// The fraction of each of API Gateway's fixed account quotas (all calls together 10 a second with a burst of 40,
    /// CreateApiKey and DeleteApiKey 5 a second, UpdateUsagePlan one every 20 seconds) that this stack's calls may
    /// take; the rest stays for everything else the account runs.
    /// </summary>
    public double Share { get; set; } = 0.8;

    /// <summary>
    /// ImportApiKeys calls a second (each creating up to a batch of first keys). Fewer imports make fuller batches:
    /// a launch's flood costs a few calls instead of one a person, and the rest of the budget stays free.
    /// </summary>
    public double ImportsPerSecond { get; set; } = 1;

    /// <summary>
    /// The longest a call waits for its turn. A call whose turn is further away fails as API Gateway not answering
    /// (its caller retries later) rather than holding a person's request.
    /// </summary>
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(20);

    public const string ShareRange = "ApiGatewayBudget:Share must be above 0 and at most 1: the fraction of API Gateway's account-wide control-plane quotas this stack takes.";

    public const string ImportsRange = "ApiGatewayBudget:ImportsPerSecond must be above 0 and at most 2.";

    public const string MaxWaitRange = "ApiGatewayBudget:MaxWait must be between 00:00:01 and 00:05:00.";

    public bool IsValid(out string? error)
    {
        error = Share is > 0 and <= 1 ? null : ShareRange;
        error ??= ImportsPerSecond is > 0 and <= 2 ? null : ImportsRange;
        error ??= MaxWait >= TimeSpan.FromSeconds(1) && MaxWait <= TimeSpan.FromMinutes(5) ? null : MaxWaitRange;
        return error is null;
    }
}

/// <summary>Fails the start naming the budget's setting that is out of range.</summary>
internal sealed class ApiGatewayBudgetOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<ApiGatewayBudgetOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ApiGatewayBudgetOptions options) =>
        options.IsValid(out var error)
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
            : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(error!);
}

/// <summary>
/// The account's one budget of API Gateway control-plane calls, shared by every function and every instance of it:
/// each call takes its turn here before it is sent, so the whole stack stays inside API Gateway's fixed quotas (with
/// the headroom <see cref="ApiGatewayBudgetOptions.Share"/> leaves) however many Portal instances, event handlers, key
/// minting consumers and usage reports run at once. A call over budget waits for its turn instead of being refused.
/// </summary>
/// <remarks>
/// Each quota is a token bucket kept as one ledger item by the generic cell rate algorithm: the item holds the bucket's
/// theoretical arrival time (TAT), each call moves it one interval on and may go a burst's worth of intervals before
/// it. While the bucket is busy (TAT ahead of now) that is one conditional update; an idle bucket restarts at now.
/// A call with a quota of its own takes its turn there first and then from the total, so waiting for the one never
/// bunches calls up in the other. The clock is the wall clock: the quotas are API Gateway's, in real seconds.
/// When the ledger does not answer, the call goes unpaced: API Gateway still enforces its quotas, and a throttled
/// answer is waited for (<see cref="Http.AwsRetryHandler"/>).
/// </remarks>
public sealed partial class ApiGatewayBudget
{
    private const string TatAttribute = "tat";

    private readonly IAmazonDynamoDB _dynamoDb;
    private readonly string _tableName;
    private readonly TimeSpan _maxWait;
    private readonly TimeProvider _clock;
    private readonly ILogger<ApiGatewayBudget> _logger;
    private readonly Bucket _total;
    private readonly Dictionary<string, Bucket> _actions;

    public ApiGatewayBudget(IAmazonDynamoDB dynamoDb, string tableName, ApiGatewayBudgetOptions options, ILogger<ApiGatewayBudget> logger, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(dynamoDb);
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (!options.IsValid(out var error))
        {
            throw new ArgumentException(error, nameof(options));
        }

        _dynamoDb = dynamoDb;
        _tableName = tableName;
        _maxWait = options.MaxWait;
        _clock = clock ?? TimeProvider.System;
        _logger = logger;
        var share = options.Share;
        _total = new Bucket("budget#apigateway", 10 * share, Math.Max(1, Math.Floor(40 * share)));
        _actions = new Dictionary<string, Bucket>(StringComparer.Ordinal)
        {
            [CreateApiKey] = new("budget#apigateway#" + CreateApiKey, 5 * share, ActionBurst(5 * share)),
            [DeleteApiKey] = new("budget#apigateway#" + DeleteApiKey, 5 * share, ActionBurst(5 * share)),
            [UpdateUsagePlan] = new("budget#apigateway#" + UpdateUsagePlan, share / 20, 1),
            [ImportApiKeys] = new("budget#apigateway#" + ImportApiKeys, options.ImportsPerSecond, 1),
        };
    }

    /// <summary>
    /// An action's own bucket lets half its share of the quota's burst go at once: its quota is small (5), so the other
    /// half absorbs calls whose turns came apart but which reach API Gateway together (their network paths differ).
    /// </summary>
    private static double ActionBurst(double shareOfBurst) => Math.Max(1, Math.Floor(shareOfBurst / 2));

    public const string CreateApiKey = "CreateApiKey";
    public const string DeleteApiKey = "DeleteApiKey";
    public const string ImportApiKeys = "ImportApiKeys";
    public const string UpdateUsagePlan = "UpdateUsagePlan";

    /// <summary>The sustained rate (calls a second) of the quota <paramref name="action"/> has of its own, or of the total when it has none.</summary>
    public double RateOf(string? action) => (action is not null && _actions.TryGetValue(action, out var own) ? own : _total).Rate;

    /// <summary>The operation with a quota of its own a request is, by its method and path, or null (it counts against the total only).</summary>
    public static string? ActionOf(HttpMethod method, Uri uri)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(uri);
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return (method.Method, segments) switch
        {
            ("POST", ["apikeys"]) when uri.Query.Contains("mode=import", StringComparison.Ordinal) => ImportApiKeys,
            ("POST", ["apikeys"]) => CreateApiKey,
            ("DELETE", ["apikeys", _]) => DeleteApiKey,
            ("PATCH", ["usageplans", _]) => UpdateUsagePlan,
            _ => null,
        };
    }

    /// <summary>Completes when a call of <paramref name="action"/> (null: one without a quota of its own) may be sent.</summary>
    /// <exception cref="HttpRequestException">The call's turn is further away than the longest wait.</exception>
    public async Task WaitTurnAsync(string? action, CancellationToken cancellationToken)
    {
        if (action is not null && _actions.TryGetValue(action, out var own))
        {
            await WaitAsync(own, cancellationToken).ConfigureAwait(false);
        }

        await WaitAsync(_total, cancellationToken).ConfigureAwait(false);
    }

    private async Task WaitAsync(Bucket bucket, CancellationToken cancellationToken)
    {
        DateTimeOffset turn;
        try
        {
            turn = await ReserveAsync(bucket, cancellationToken).ConfigureAwait(false);
        }
        catch (DependencyUnavailableException e)
        {
            LogUnpaced(bucket.Id, e.Message);
            return;
        }

        var wait = turn - _clock.GetUtcNow();
        if (wait <= TimeSpan.Zero)
        {
            return;
        }

        if (wait > CallBudget.Limit(_maxWait))
        {
            throw new HttpRequestException(string.Create(
                CultureInfo.InvariantCulture,
                $"API Gateway's control-plane budget ({bucket.Id}) has no turn for {wait.TotalSeconds:0.#} s, more than this call may wait."));
        }

        await Task.Delay(wait, _clock, cancellationToken).ConfigureAwait(false);
    }

    /// <returns>
    /// When the call may go: the bucket's new TAT less one interval and the burst's tolerance. A bucket whose schedule
    /// runs further ahead than the longest wait is left as it is (nothing reserved: callers that give up must not push
    /// the schedule on for those that wait), and the turn returned is beyond the longest wait.
    /// </returns>
    private async Task<DateTimeOffset> ReserveAsync(Bucket bucket, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
            var latest = now + (long)_maxWait.TotalMilliseconds + bucket.IntervalMs + bucket.ToleranceMs;
            if (Volatile.Read(ref bucket.LastTat) >= now || attempt > 0)
            {
                // The schedule runs ahead of now: take the next interval on it.
                var values = new Dictionary<string, AttributeValue> { [":interval"] = Number(bucket.IntervalMs), [":now"] = Number(now), [":latest"] = Number(latest) };
                if (await TryUpdateAsync(bucket, "SET #tat = #tat + :interval", "#tat BETWEEN :now AND :latest", values, cancellationToken).ConfigureAwait(false) is { } tat)
                {
                    Volatile.Write(ref bucket.LastTat, tat);
                    return DateTimeOffset.FromUnixTimeMilliseconds(tat - bucket.IntervalMs - bucket.ToleranceMs);
                }
            }

            // The schedule is behind now (or new): it restarts now, and this call goes at once.
            var restart = new Dictionary<string, AttributeValue> { [":restart"] = Number(now + bucket.IntervalMs), [":now"] = Number(now) };
            if (await TryUpdateAsync(bucket, "SET #tat = :restart", "attribute_not_exists(#tat) OR #tat < :now", restart, cancellationToken).ConfigureAwait(false) is { } restarted)
            {
                Volatile.Write(ref bucket.LastTat, restarted);
                return DateTimeOffset.FromUnixTimeMilliseconds(now);
            }

            if (await ReadAsync(bucket, cancellationToken).ConfigureAwait(false) is { } ahead && ahead > latest)
            {
                Volatile.Write(ref bucket.LastTat, ahead);
                return DateTimeOffset.FromUnixTimeMilliseconds(ahead - bucket.IntervalMs - bucket.ToleranceMs);
            }

            if (attempt >= 3)
            {
                // Rounds lost to other instances restarting and advancing the bucket in between: give up on pacing.
                throw new DependencyUnavailableException("dynamodb", "UpdateItem", new InvalidOperationException($"The budget {bucket.Id} kept moving."));
            }
        }
    }

    private async Task<long?> ReadAsync(Bucket bucket, CancellationToken cancellationToken)
    {
        var response = await DynamoDbFaults.CallAsync(
            "GetItem",
            ct => _dynamoDb.GetItemAsync(
                new GetItemRequest
                {
                    TableName = _tableName,
                    Key = KeyOf(bucket),
                    ConsistentRead = true,
                    ProjectionExpression = "#tat",
                    ExpressionAttributeNames = new Dictionary<string, string> { ["#tat"] = TatAttribute },
                },
                ct),
            cancellationToken).ConfigureAwait(false);
        return response.Item is { } item && item.TryGetValue(TatAttribute, out var tat)
            ? long.Parse(tat.N, CultureInfo.InvariantCulture)
            : null;
    }

    private static Dictionary<string, AttributeValue> KeyOf(Bucket bucket) =>
        new() { [LedgerTable.PartitionKey] = new() { S = bucket.Id } };

    /// <returns>The bucket's TAT as written, or null when the condition did not hold.</returns>
    private async Task<long?> TryUpdateAsync(
        Bucket bucket, string update, string condition, Dictionary<string, AttributeValue> values, CancellationToken cancellationToken)
    {
        try
        {
            var response = await DynamoDbFaults.CallAsync(
                "UpdateItem",
                ct => _dynamoDb.UpdateItemAsync(
                    new UpdateItemRequest
                    {
                        TableName = _tableName,
                        Key = KeyOf(bucket),
                        UpdateExpression = update,
                        ConditionExpression = condition,
                        ExpressionAttributeNames = new Dictionary<string, string> { ["#tat"] = TatAttribute },
                        ExpressionAttributeValues = values,
                        ReturnValues = ReturnValue.UPDATED_NEW,
                    },
                    ct),
                cancellationToken).ConfigureAwait(false);
            return long.Parse(response.Attributes[TatAttribute].N, CultureInfo.InvariantCulture);
        }
        catch (ConditionalCheckFailedException)
        {
            return null;
        }
    }

    private static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    /// <summary>One quota: its ledger item, its interval and how many intervals ahead of the schedule a call may go.</summary>
    private sealed class Bucket(string id, double rate, double burst)
    {
        public string Id { get; } = id;

        public double Rate { get; } = rate;

        public long IntervalMs { get; } = (long)Math.Ceiling(1000 / rate);

        public long ToleranceMs => (long)((burst - 1) * IntervalMs);

        /// <summary>The TAT this instance last wrote, to guess whether the bucket is busy (one update) or idle.</summary>
        public long LastTat = long.MinValue;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API Gateway call sent unpaced: its budget {BudgetId} could not be read ({Reason}); API Gateway's own throttling still applies")]
    private partial void LogUnpaced(string budgetId, string reason);
}

/// <summary>Makes every attempt of an API Gateway call take its turn from the account's budget before it is signed and sent.</summary>
internal sealed class ApiGatewayBudgetHandler(ApiGatewayBudget budget) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        await budget.WaitTurnAsync(ApiGatewayBudget.ActionOf(request.Method, request.RequestUri!), cancellationToken).ConfigureAwait(false);
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
