using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Monetization.Emulators.Faults;

namespace Monetization.Emulators.Marketplace;

/// <summary>
/// A local AWS Marketplace for the seller side of a SaaS listing: the Metering API (JSON 1.1, <c>ResolveCustomer</c>
/// and <c>BatchMeterUsage</c>) on a free loopback port, plus a control API that mints registration tokens, plays the
/// buyer's browser post to the landing page and delivers SNS / EventBridge subscription events. README.md documents it.
/// </summary>
/// <remarks>
/// Signatures are not verified (moto does that for the services it emulates); the emulator requires a SigV4
/// Authorization header scoped to <c>aws-marketplace</c> in its region, which is what a wrongly named client gets wrong.
/// </remarks>
public sealed partial class MarketplaceEmulator : IAsyncDisposable
{
    public const string TargetPrefix = "AWSMPMeteringService.";
    public const string SigningName = "aws-marketplace";
    public const int MaxRecordsPerBatch = 25;
    public static readonly TimeSpan MeteringWindow = TimeSpan.FromHours(6);

    /// <summary>How long after License Deprovisioned Marketplace still takes the buyer's metering records.</summary>
    public static readonly TimeSpan FinalMeteringWindow = TimeSpan.FromHours(1);

    private const string ControlPrefix = "/_emulator";
    private const string AmzJson = "application/x-amz-json-1.1";

    private readonly MarketplaceEmulatorOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, MintedToken> _tokens = new(StringComparer.Ordinal);
    /// <summary>Per buyer, until when Marketplace takes their metering records: open while subscribed, one hour after License Deprovisioned.</summary>
    private readonly Dictionary<string, DateTimeOffset> _meteringUntil = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Customer, string Dimension, DateTimeOffset Hour), MeteredUsage> _metered = [];
    private readonly ConcurrentQueue<MeteringRequest> _requests = new();
    private readonly ConcurrentQueue<EventDelivery> _deliveries = new();
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private Uri? _landingUrl;
    private Func<Stream, CancellationToken, Task<Stream>>? _eventSink;
    private int _unprocessed;

    private MarketplaceEmulator(MarketplaceEmulatorOptions options, Uri endpoint)
    {
        _options = options;
        _landingUrl = options.LandingUrl;
        _eventSink = options.EventSink;
        Endpoint = endpoint;
    }

    public Uri Endpoint { get; }

    public string ProductCode => _options.ProductCode;

    public FaultInjector Faults { get; } = new();

    public Uri? LandingUrl
    {
        get => Volatile.Read(ref _landingUrl);
        set => Volatile.Write(ref _landingUrl, value);
    }

    public Func<Stream, CancellationToken, Task<Stream>>? EventSink
    {
        get => Volatile.Read(ref _eventSink);
        set => Volatile.Write(ref _eventSink, value);
    }

    /// <summary>Every Metering API call received, in arrival order, without tokens.</summary>
    public IReadOnlyList<MeteringRequest> Requests => [.. _requests];

    /// <summary>Every event delivery made, in order.</summary>
    public IReadOnlyList<EventDelivery> Deliveries => [.. _deliveries];

    public IReadOnlyList<MeteredUsage> Metered
    {
        get
        {
            lock (_lock)
            {
                return [.. _metered.Values.OrderBy(m => m.Timestamp).ThenBy(m => m.MeteringRecordId, StringComparer.Ordinal)];
            }
        }
    }

    public static async Task<MarketplaceEmulator> StartAsync(MarketplaceEmulatorOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new MarketplaceEmulatorOptions();
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ProductCode);

        return await LoopbackServer.StartOnFreePortAsync(
            endpoint => new MarketplaceEmulator(options, endpoint),
            (server, port, ct) => server.StartServerAsync(port, ct),
            cancellationToken);
    }

    /// <summary>Mints a registration token as Marketplace does when a buyer subscribes.</summary>
    public MintedToken MintToken(MintTokenRequest? request = null)
    {
        request ??= new MintTokenRequest();
        if (request.Style == BuyerStyle.NewStyle && request.CustomerIdentifier is not null)
        {
            throw new ArgumentException("A new-style buyer has no CustomerIdentifier.", nameof(request));
        }

        var now = _options.TimeProvider.GetUtcNow();
        var minted = new MintedToken(
            RandomToken(),
            request.Style == BuyerStyle.Legacy ? request.CustomerIdentifier ?? RandomCustomerIdentifier() : null,
            request.CustomerAwsAccountId ?? RandomAccountId(),
            request.ProductCode ?? _options.ProductCode,
            request.LicenseArn ?? $"arn:aws:license-manager::{SellerAccountId}:license:l-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}",
            request.Expired ? now - TimeSpan.FromMinutes(1) : now + _options.TokenLifetime);
        lock (_lock)
        {
            _tokens[minted.Token] = minted;
        }

        return minted;
    }

    /// <summary>
    /// Injects that the next <paramref name="count"/> usage records BatchMeterUsage receives come back in
    /// <c>UnprocessedRecords</c> (a transient failure the caller must retry).
    /// </summary>
    public void LeaveUnprocessed(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Volatile.Write(ref _unprocessed, count);
    }

    /// <summary>
    /// Whether metering for the buyer is honoured now: the latest subscription event delivered for it granted access,
    /// or it was License Deprovisioned less than an hour ago (the final reporting window).
    /// </summary>
    public bool IsSubscribed(string customerKey)
    {
        lock (_lock)
        {
            return TakesMetering(customerKey);
        }
    }

    // Called under _lock.
    private bool TakesMetering(string customerKey) =>
        _meteringUntil.TryGetValue(customerKey, out var until) && _options.TimeProvider.GetUtcNow() < until;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
        }

        _stopping.Dispose();
    }

    /// <summary>The account Marketplace publishes subscription notifications from (the topic owner in AWS's docs).</summary>
    public const string MarketplaceAccountId = "287250355862";

    /// <summary>The seller account licenses are issued from in minted ARNs.</summary>
    public const string SellerAccountId = "123456789012";

    internal static string LegacyCustomerKey(string customerIdentifier) => "cid:" + customerIdentifier;

    internal static string NewStyleCustomerKey(string accountId, string licenseArn) => $"acct:{accountId}:{LicenseId(licenseArn)}";

    // ResolveCustomer and the license events print one license in two ARN shapes; the id is what they share.
    internal static string LicenseId(string licenseArn) => licenseArn[(licenseArn.LastIndexOfAny([':', '/']) + 1)..].ToLowerInvariant();

    private async Task StartServerAsync(int port, CancellationToken cancellationToken)
    {
        var app = LoopbackServer.CreateApp(port);
        _app = app;
        app.Use(async (context, next) =>
        {
            context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            // Every operation is POST / with X-Amz-Target; fault rules match it as the path /<Operation>.
            if (context.Request.Path == "/" && Operation(context.Request) is { } operation)
            {
                context.Request.Path = "/" + operation;
            }

            await next(context);
        });
        app.UseFaults(Faults, FaultBody, _stopping.Token, ControlPrefix);
        app.Run(context => context.Request.Path.StartsWithSegments(ControlPrefix) ? HandleControlAsync(context) : HandleApiAsync(context));
        await app.StartAsync(cancellationToken);
    }

    private static string FaultBody(FaultRule rule) => rule.Status switch
    {
        400 or 429 => ErrorBody("ThrottlingException", "Rate exceeded"),
        >= 500 => ErrorBody("InternalServiceErrorException", "An internal error has occurred. Retry your request."),
        _ => ErrorBody("ServiceException", "injected fault"),
    };

    private static string? Operation(HttpRequest request)
    {
        var target = request.Headers["X-Amz-Target"].ToString();
        return target.StartsWith(TargetPrefix, StringComparison.Ordinal) && target.Length > TargetPrefix.Length ? target[TargetPrefix.Length..] : null;
    }

    private async Task HandleApiAsync(HttpContext context)
    {
        var request = context.Request;
        var operation = Operation(request);
        var scope = CredentialScope(request.Headers.Authorization.ToString());
        ApiOutcome outcome;
        if (!HttpMethods.IsPost(request.Method))
        {
            outcome = Error(404, "UnknownOperationException", null);
        }
        else if (scope is null)
        {
            outcome = Error(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        else if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            outcome = Error(403, "IncompleteSignatureException", "Credential should be scoped to a valid region, service and terminator.");
        }
        else if (scope[3] != SigningName)
        {
            outcome = Error(403, "InvalidSignatureException", $"Credential should be scoped to correct service: '{SigningName}'. ");
        }
        else if (scope[2] != _options.Region)
        {
            outcome = Error(403, "InvalidSignatureException", $"Credential should be scoped to a valid region, not '{scope[2]}'. ");
        }
        else if (!string.Equals(request.ContentType?.Split(';')[0].Trim(), AmzJson, StringComparison.OrdinalIgnoreCase))
        {
            outcome = Error(400, "SerializationException", null);
        }
        else
        {
            JsonObject? body;
            try
            {
                body = await JsonNode.ParseAsync(request.Body, cancellationToken: context.RequestAborted) as JsonObject;
            }
            catch (JsonException)
            {
                body = null;
            }

            outcome = body is null
                ? Error(400, "SerializationException", "Start of structure or map found where not expected.")
                : operation switch
                {
                    "ResolveCustomer" => ResolveCustomer(body),
                    "BatchMeterUsage" => BatchMeterUsage(body),
                    _ => Error(400, "UnknownOperationException", null),
                };
        }

        _requests.Enqueue(new MeteringRequest(
            operation ?? "(none)",
            scope is null ? null : string.Join('/', scope.Skip(1)),
            outcome.Status,
            outcome.ErrorType));
        context.Response.StatusCode = outcome.Status;
        context.Response.ContentType = AmzJson;
        await context.Response.WriteAsync(outcome.Body, Encoding.UTF8, context.RequestAborted);
    }

    private ApiOutcome ResolveCustomer(JsonObject body)
    {
        if (body["RegistrationToken"] is not JsonValue value || !value.TryGetValue<string>(out var token) || token.Length == 0)
        {
            return Error(400, "ValidationException", "1 validation error detected: Value null at 'registrationToken' failed to satisfy constraint: Member must not be null");
        }

        MintedToken? minted;
        lock (_lock)
        {
            _tokens.TryGetValue(token, out minted);
        }

        if (minted is null)
        {
            // Never echo the token.
            return Error(400, "InvalidTokenException", "Registration token is invalid");
        }

        if (minted.ExpiresAt <= _options.TimeProvider.GetUtcNow())
        {
            return Error(400, "ExpiredTokenException", "Registration token has expired");
        }

        var result = new JsonObject
        {
            ["CustomerAWSAccountId"] = minted.CustomerAwsAccountId,
            ["ProductCode"] = minted.ProductCode,
            ["LicenseArn"] = minted.LicenseArn,
        };
        if (minted.CustomerIdentifier is not null)
        {
            result["CustomerIdentifier"] = minted.CustomerIdentifier;
        }

        return new ApiOutcome(200, result.ToJsonString(), null);
    }

    private ApiOutcome BatchMeterUsage(JsonObject body)
    {
        if (body["UsageRecords"] is not JsonArray records)
        {
            return Error(400, "ValidationException", "1 validation error detected: Value null at 'usageRecords' failed to satisfy constraint: Member must not be null");
        }

        if (records.Count > MaxRecordsPerBatch)
        {
            return Error(400, "ValidationException", $"1 validation error detected: Value at 'usageRecords' failed to satisfy constraint: Member must have length less than or equal to {MaxRecordsPerBatch}");
        }

        var productCode = body["ProductCode"]?.GetValue<string>();
        if (!string.Equals(productCode, _options.ProductCode, StringComparison.Ordinal))
        {
            return Error(400, "InvalidProductCodeException", "Product code passed does not match the product code used for publishing the product.");
        }

        var now = _options.TimeProvider.GetUtcNow();
        var parsed = new List<(JsonObject Wire, UsageRecordIn Record)>(records.Count);
        foreach (var node in records)
        {
            if (node is not JsonObject wire)
            {
                return Error(400, "ValidationException", "1 validation error detected: a usage record is not a structure");
            }

            if (ProblemOf(wire) is { } problem)
            {
                return Error(400, "ValidationException", "1 validation error detected: " + problem);
            }
        }

        // Input validation comes before any record is looked at, so one record's ARN refuses everyone's records.
        if (LicenseArnViolations(records) is { Count: > 0 } violations)
        {
            var count = violations.Count == 1 ? "1 validation error" : $"{violations.Count} validation errors";
            return Error(400, "ValidationException", $"{count} detected: {string.Join("; ", violations)}");
        }

        foreach (var wire in records.Cast<JsonObject>())
        {
            var record = Read(wire);
            if (record.Timestamp < now - MeteringWindow)
            {
                // The whole batch is refused, as the model documents for this exception.
                return Error(400, "TimestampOutOfBoundsException", "Timestamp is out of the allowed range.");
            }

            if ((record.CustomerIdentifier is null) == (record.CustomerAwsAccountId is null))
            {
                return Error(400, "ValidationException", "Exactly one of CustomerIdentifier or CustomerAWSAccountId must be given for each usage record.");
            }

            parsed.Add((wire, record));
        }

        var results = new JsonArray();
        var unprocessed = new JsonArray();
        lock (_lock)
        {
            foreach (var (wire, record) in parsed)
            {
                if (_unprocessed > 0)
                {
                    _unprocessed--;
                    unprocessed.Add(wire.DeepClone());
                    continue;
                }

                results.Add(Meter(productCode!, wire, record));
            }
        }

        return new ApiOutcome(200, new JsonObject { ["Results"] = results, ["UnprocessedRecords"] = unprocessed }.ToJsonString(), null);
    }

    // Called under _lock.
    private JsonObject Meter(string productCode, JsonObject wire, UsageRecordIn record)
    {
        var customerKey = record.CustomerIdentifier is { } cid
            ? LegacyCustomerKey(cid)
            : record.LicenseArn is { } arn ? NewStyleCustomerKey(record.CustomerAwsAccountId!, arn) : null;
        var result = new JsonObject { ["UsageRecord"] = wire.DeepClone() };
        if (customerKey is null || !TakesMetering(customerKey))
        {
            result["Status"] = "CustomerNotSubscribed";
            return result;
        }

        var hour = new DateTimeOffset(record.Timestamp.Year, record.Timestamp.Month, record.Timestamp.Day, record.Timestamp.Hour, 0, 0, TimeSpan.Zero);
        var key = (customerKey, record.Dimension, hour);
        if (_metered.TryGetValue(key, out var earlier))
        {
            // The model: a repeat of the same record is de-duplicated (same answer again); the same customer,
            // dimension and time with a different quantity is a DuplicateRecord and not honoured.
            result["MeteringRecordId"] = earlier.MeteringRecordId;
            result["Status"] = earlier.Quantity == record.Quantity ? "Success" : "DuplicateRecord";
            return result;
        }

        var id = Guid.NewGuid().ToString();
        _metered[key] = new MeteredUsage(id, productCode, record.CustomerIdentifier, record.CustomerAwsAccountId, record.LicenseArn, record.Dimension, record.Quantity, record.Timestamp);
        result["MeteringRecordId"] = id;
        result["Status"] = "Success";
        return result;
    }

    private static UsageRecordIn Read(JsonObject wire) => new(
        DateTimeOffset.UnixEpoch.AddMilliseconds(Math.Round(wire["Timestamp"]!.GetValue<double>() * 1000)),
        wire["Dimension"]!.GetValue<string>(),
        wire["Quantity"] is { } quantity ? quantity.GetValue<int>() : 0,
        wire["CustomerIdentifier"]?.GetValue<string>(),
        wire["CustomerAWSAccountId"]?.GetValue<string>(),
        wire["LicenseArn"]?.GetValue<string>());

    private static string? ProblemOf(JsonObject wire)
    {
        if (wire["Timestamp"] is not JsonValue timestamp || timestamp.GetValueKind() != JsonValueKind.Number)
        {
            return "Value at 'usageRecords.member.timestamp' failed to satisfy constraint: Member must not be null and must be epoch seconds";
        }

        if (wire["Dimension"] is not JsonValue dimension || dimension.GetValueKind() != JsonValueKind.String || dimension.GetValue<string>().Length is 0 or > 255)
        {
            return "Value at 'usageRecords.member.dimension' failed to satisfy constraint: Member must have length between 1 and 255";
        }

        if (wire["Quantity"] is { } quantity && (quantity.GetValueKind() != JsonValueKind.Number || !quantity.AsValue().TryGetValue<int>(out var q) || q < 0))
        {
            return "Value at 'usageRecords.member.quantity' failed to satisfy constraint: Member must be an integer between 0 and 2147483647";
        }

        foreach (var name in new[] { "CustomerIdentifier", "CustomerAWSAccountId", "LicenseArn" })
        {
            if (wire[name] is { } value && value.GetValueKind() != JsonValueKind.String)
            {
                return $"Value at 'usageRecords.member.{char.ToLowerInvariant(name[0])}{name[1..]}' failed to satisfy constraint: Member must be a string";
            }
        }

        return null;
    }

    /// <summary>
    /// The service's constraint messages for every <c>LicenseArn</c> outside the model's pattern, numbered from 1 as AWS
    /// numbers list members.
    /// </summary>
    private static List<string> LicenseArnViolations(JsonArray records)
    {
        var violations = new List<string>();
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i]!["LicenseArn"]?.GetValue<string>() is { } arn && !LicenseArnPattern().IsMatch(arn))
            {
                violations.Add(string.Create(
                    CultureInfo.InvariantCulture,
                    $"Value '{arn}' at 'usageRecords.{i + 1}.member.licenseArn' failed to satisfy constraint: Member must satisfy regular expression pattern: {LicenseArnModelPattern}"));
            }
        }

        return violations;
    }

    /// <summary>botocore data meteringmarketplace/2016-01-14, shape <c>LicenseArn</c>, as the service prints it in its refusal.</summary>
    private const string LicenseArnModelPattern =
        "^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$";

    // The emulator keeps its own copy of the pattern rather than the production one, so a mistake in either shows.
    // `\z` for the model's `$`: .NET's `$` also matches before a trailing newline.
    [GeneratedRegex(
        @"^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex LicenseArnPattern();

    /// <summary>The <c>Credential=</c> scope (access key, date, region, service, terminator), or null without a SigV4 header.</summary>
    private static string[]? CredentialScope(string authorization)
    {
        const string scheme = "AWS4-HMAC-SHA256 ";
        var start = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (!authorization.StartsWith(scheme, StringComparison.Ordinal) || start < 0
            || !authorization.Contains("SignedHeaders=", StringComparison.Ordinal) || !authorization.Contains("Signature=", StringComparison.Ordinal))
        {
            return null;
        }

        var value = authorization[(start + "Credential=".Length)..];
        var end = value.IndexOf(',', StringComparison.Ordinal);
        return (end < 0 ? value : value[..end]).Trim().Split('/');
    }

    private static ApiOutcome Error(int status, string type, string? message) => new(status, ErrorBody(type, message), type);

    private static string ErrorBody(string type, string? message)
    {
        var body = new JsonObject { ["__type"] = type };
        if (message is not null)
        {
            body["message"] = message;
        }

        return body.ToJsonString();
    }

    private static string RandomToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string RandomCustomerIdentifier() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(8)).TrimEnd('=').Replace('+', 'x').Replace('/', 'y');

    private static string RandomAccountId() => RandomNumberGenerator.GetInt32(100_000, 1_000_000).ToString(CultureInfo.InvariantCulture)
        + RandomNumberGenerator.GetInt32(100_000, 1_000_000).ToString(CultureInfo.InvariantCulture);

    private sealed record ApiOutcome(int Status, string Body, string? ErrorType);

    private sealed record UsageRecordIn(
        DateTimeOffset Timestamp,
        string Dimension,
        int Quantity,
        string? CustomerIdentifier,
        string? CustomerAwsAccountId,
        string? LicenseArn);
}
