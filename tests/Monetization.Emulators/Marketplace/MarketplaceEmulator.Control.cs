using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.Marketplace;

// What Marketplace does on the buyer's and the notification side, callable from C# and over the HTTP control API
// (README.md documents both).
public sealed partial class MarketplaceEmulator
{
    private static readonly JsonSerializerOptions ControlJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// A buyer subscribes: mints a token and posts it from a fresh browser (no cookies from an earlier visit) to
    /// <see cref="LandingUrl"/> as Marketplace does (form field <c>x-amzn-marketplace-token</c>), and returns the page the
    /// buyer ends on: redirects are followed with the cookies the site set, and so is a page's refresh (a page waiting
    /// for the key), at most <see cref="RefreshAtMost"/> later, until a page stops refreshing or <see cref="KeyWait"/>
    /// has passed.
    /// </summary>
    public async Task<PurchaseResult> SimulatePurchaseAsync(MintTokenRequest? request = null, CancellationToken cancellationToken = default)
    {
        var url = LandingUrl ?? throw new InvalidOperationException("No landing URL is set on the emulator.");
        var minted = MintToken(request);
        using var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new System.Net.CookieContainer(), AllowAutoRedirect = true })
        {
            Timeout = TimeSpan.FromSeconds(100),
        };
        using var message = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new FormUrlEncodedContent([new KeyValuePair<string, string>("x-amzn-marketplace-token", minted.Token)]),
        };
        // A cross-site top-level form post from the Marketplace console.
        message.Headers.TryAddWithoutValidation("Origin", "https://aws.amazon.com");
        message.Headers.TryAddWithoutValidation("Referer", "https://aws.amazon.com/");
        message.Headers.TryAddWithoutValidation("Accept", "text/html");
        message.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        var response = await browser.SendAsync(message, cancellationToken);
        var html = await response.Content.ReadAsStringAsync(cancellationToken);
        var waited = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            while (RefreshAfter(html) is { } after && waited.Elapsed < KeyWait)
            {
                await Task.Delay(after < RefreshAtMost ? after : RefreshAtMost, cancellationToken);
                var page = response.RequestMessage?.RequestUri ?? url;
                response.Dispose();
                using var reload = new HttpRequestMessage(HttpMethod.Get, page);
                reload.Headers.TryAddWithoutValidation("Accept", "text/html");
                reload.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
                response = await browser.SendAsync(reload, cancellationToken);
                html = await response.Content.ReadAsStringAsync(cancellationToken);
            }

            return new PurchaseResult(minted, (int)response.StatusCode, html);
        }
        finally
        {
            response.Dispose();
        }
    }

    private static readonly TimeSpan KeyWait = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How soon the browser follows a page's refresh at most: sooner than the page asks, to keep tests short, yet
    /// slowly enough that the buyers a test lands from one address at once stay under the account page's limit.
    /// </summary>
    private static readonly TimeSpan RefreshAtMost = TimeSpan.FromSeconds(1);

    private static TimeSpan? RefreshAfter(string html)
    {
        var refresh = System.Text.RegularExpressions.Regex.Match(html, "<meta http-equiv=\"refresh\" content=\"([0-9]+)\"");
        return refresh.Success ? TimeSpan.FromSeconds(int.Parse(refresh.Groups[1].Value, CultureInfo.InvariantCulture)) : null;
    }

    private const string UserAgent = "Mozilla/5.0 (X11; Linux x86_64) MarketplaceEmulator";

    /// <summary>Publishes a message on <c>aws-mp-subscription-notification-&lt;productCode&gt;</c> and hands Lambda's SNS event to the sink.</summary>
    public Task<EventDelivery> DeliverSnsAsync(SnsNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var productCode = notification.ProductCode ?? _options.ProductCode;
        var timestamp = notification.Timestamp ?? _options.TimeProvider.GetUtcNow();
        var message = new JsonObject
        {
            ["action"] = notification.Action,
            ["customer-identifier"] = notification.CustomerIdentifier,
            ["product-code"] = productCode,
        };
        if (notification.Action.StartsWith("subscribe-", StringComparison.Ordinal))
        {
            // Only the subscribe messages name the offer and the free trial; unsubscribe and entitlement messages do not.
            message["offer-identifier"] = notification.OfferIdentifier ?? "offer-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..13]);
            message["isFreeTrialTermPresent"] = notification.IsFreeTrialTermPresent ? "true" : "false";
        }

        var payload = SnsEvent(productCode, message.ToJsonString(), timestamp);
        // unsubscribe-pending opens the final hour of metering; unsubscribe-success closes it.
        var meteringUntil = notification.Action switch
        {
            "subscribe-success" => DateTimeOffset.MaxValue,
            "unsubscribe-success" or "subscribe-fail" => DateTimeOffset.MinValue,
            _ => (DateTimeOffset?)null,
        };
        return DeliverAsync(payload, meteringUntil is { } until ? (LegacyCustomerKey(notification.CustomerIdentifier), until) : null, cancellationToken);
    }

    /// <summary>Puts an <c>aws.agreement-marketplace</c> event on the bus and hands it to the sink as the rule's target would.</summary>
    public Task<EventDelivery> DeliverEventBridgeAsync(AgreementEvent agreementEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(agreementEvent);
        var productCode = agreementEvent.ProductCode ?? _options.ProductCode;
        var time = agreementEvent.Time ?? _options.TimeProvider.GetUtcNow();
        var agreementId = agreementEvent.AgreementId ?? "agmt-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..13]);
        var detail = new JsonObject
        {
            ["requestId"] = Guid.NewGuid().ToString(),
            ["catalog"] = "AWSMarketplace",
        };
        if (agreementEvent.DetailType.StartsWith("License ", StringComparison.Ordinal))
        {
            detail["agreement"] = new JsonObject { ["id"] = agreementId };
            detail["product"] = new JsonObject { ["code"] = productCode, ["id"] = "prod-id-" + productCode };
            detail["license"] = new JsonObject { ["arn"] = agreementEvent.LicenseArn };
        }
        else
        {
            // Purchase agreement events name the agreement and the parties, never the license or the product.
            var stamp = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
            detail["agreement"] = new JsonObject
            {
                ["id"] = agreementId,
                ["intent"] = "NEW",
                ["status"] = agreementEvent.DetailType.StartsWith("Purchase Agreement Ended", StringComparison.Ordinal) ? "EXPIRED" : "ACTIVE",
                ["acceptanceTime"] = stamp,
                ["startTime"] = stamp,
                ["endTime"] = time.UtcDateTime.AddYears(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            };
            detail["resaleAuthorization"] = new JsonObject { ["id"] = null };
        }

        detail["acceptor"] = new JsonObject { ["accountId"] = agreementEvent.AcceptorAccountId };
        detail["proposer"] = new JsonObject { ["accountId"] = SellerAccountId };
        detail["offer"] = new JsonObject { ["id"] = agreementEvent.OfferId ?? "offer-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..13]) };
        var payload = new JsonObject
        {
            ["version"] = "0",
            ["id"] = Guid.NewGuid().ToString(),
            ["detail-type"] = agreementEvent.DetailType,
            ["source"] = "aws.agreement-marketplace",
            ["account"] = SellerAccountId,
            ["time"] = time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            ["region"] = _options.Region,
            ["resources"] = new JsonArray($"arn:aws:aws-marketplace:{_options.Region}:{SellerAccountId}:AWSMarketplace/Agreement/{agreementId}"),
            ["detail"] = detail,
        }.ToJsonString();
        // AWS: License Deprovisioned starts the buyer's final hour of metering, after which records are refused; the
        // Purchase Agreement Ended that precedes it leaves metering open.
        DateTimeOffset? meteringUntil = agreementEvent.DetailType.StartsWith("License Updated", StringComparison.Ordinal) || agreementEvent.DetailType.StartsWith("Purchase Agreement Created", StringComparison.Ordinal)
            ? DateTimeOffset.MaxValue
            : agreementEvent.DetailType.StartsWith("License Deprovisioned", StringComparison.Ordinal)
                ? time + FinalMeteringWindow
                : null;
        return DeliverAsync(payload, meteringUntil is { } until ? (NewStyleCustomerKey(agreementEvent.AcceptorAccountId, agreementEvent.LicenseArn), until) : null, cancellationToken);
    }

    /// <summary>Hands any payload to the sink unchanged (malformed deliveries, hand-made batches).</summary>
    public Task<EventDelivery> DeliverRawAsync(string payload, CancellationToken cancellationToken = default) =>
        DeliverAsync(payload ?? throw new ArgumentNullException(nameof(payload)), null, cancellationToken);

    /// <summary>Lambda's SNS event for one message on Marketplace's subscription topic.</summary>
    public string SnsEvent(string productCode, string message, DateTimeOffset timestamp)
    {
        var topicArn = $"arn:aws:sns:{_options.Region}:{MarketplaceAccountId}:aws-mp-subscription-notification-{productCode}";
        var messageId = Guid.NewGuid().ToString();
        return new JsonObject
        {
            ["Records"] = new JsonArray(new JsonObject
            {
                ["EventSource"] = "aws:sns",
                ["EventVersion"] = "1.0",
                ["EventSubscriptionArn"] = $"{topicArn}:{Guid.NewGuid()}",
                ["Sns"] = new JsonObject
                {
                    ["Type"] = "Notification",
                    ["MessageId"] = messageId,
                    ["TopicArn"] = topicArn,
                    ["Subject"] = null,
                    ["Message"] = message,
                    ["Timestamp"] = timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                    ["SignatureVersion"] = "1",
                    ["Signature"] = Convert.ToBase64String(Guid.NewGuid().ToByteArray()),
                    ["SigningCertUrl"] = $"https://sns.{_options.Region}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
                    ["UnsubscribeUrl"] = $"https://sns.{_options.Region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topicArn}:{messageId}",
                    ["MessageAttributes"] = new JsonObject(),
                },
            }),
        }.ToJsonString();
    }

    private async Task<EventDelivery> DeliverAsync(string payload, (string CustomerKey, DateTimeOffset MeteringUntil)? metering, CancellationToken cancellationToken)
    {
        if (metering is { } m)
        {
            // Marketplace's own view changes when it publishes, whether or not anyone is listening.
            lock (_lock)
            {
                _meteringUntil[m.CustomerKey] = m.MeteringUntil;
            }
        }

        EventDelivery delivery;
        if (EventSink is not { } sink)
        {
            delivery = new EventDelivery(payload, false, null, null);
        }
        else
        {
            try
            {
                using var input = new MemoryStream(Encoding.UTF8.GetBytes(payload), writable: false);
                await using var output = await sink(input, cancellationToken);
                using var reader = new StreamReader(output, Encoding.UTF8);
                delivery = new EventDelivery(payload, true, await reader.ReadToEndAsync(cancellationToken), null);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // Lambda reports a function error as errorType and errorMessage; the event source retries it.
                delivery = new EventDelivery(payload, true, null, $"{e.GetType().Name}: {e.Message}");
            }
        }

        _deliveries.Enqueue(delivery);
        return delivery;
    }

    private async Task HandleControlAsync(HttpContext context)
    {
        var segments = (context.Request.Path.Value ?? "/").Split('/', StringSplitOptions.RemoveEmptyEntries);
        var ct = context.RequestAborted;
        try
        {
            switch (context.Request.Method, segments)
            {
                case ("POST", ["_emulator", "tokens"]):
                    await WriteControlAsync(context, 201, Describe(MintToken(ReadMint(await ReadControlAsync(context)))));
                    return;

                case ("POST", ["_emulator", "purchases"]):
                {
                    var purchase = await SimulatePurchaseAsync(ReadMint(await ReadControlAsync(context)), ct);
                    await WriteControlAsync(context, 200, new JsonObject
                    {
                        ["buyer"] = Describe(purchase.Buyer),
                        ["statusCode"] = purchase.StatusCode,
                        ["html"] = purchase.Html,
                    });
                    return;
                }

                case ("POST", ["_emulator", "events", "sns"]):
                {
                    var body = await ReadControlAsync(context);
                    var delivery = await DeliverSnsAsync(
                        new SnsNotification(
                            Required(body, "action"),
                            Required(body, "customerIdentifier"),
                            Optional(body, "productCode"),
                            Optional(body, "offerIdentifier"),
                            OptionalTime(body, "timestamp"),
                            body?["isFreeTrialTermPresent"]?.GetValue<bool>() ?? false),
                        ct);
                    await WriteControlAsync(context, 200, Describe(delivery));
                    return;
                }

                case ("POST", ["_emulator", "events", "eventbridge"]):
                {
                    var body = await ReadControlAsync(context);
                    var delivery = await DeliverEventBridgeAsync(
                        new AgreementEvent(
                            Required(body, "detailType"),
                            Required(body, "accountId"),
                            Required(body, "licenseArn"),
                            Optional(body, "productCode"),
                            Optional(body, "agreementId"),
                            Optional(body, "offerId"),
                            OptionalTime(body, "time")),
                        ct);
                    await WriteControlAsync(context, 200, Describe(delivery));
                    return;
                }

                case ("POST", ["_emulator", "events", "raw"]):
                {
                    using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
                    var delivery = await DeliverRawAsync(await reader.ReadToEndAsync(ct), ct);
                    await WriteControlAsync(context, 200, Describe(delivery));
                    return;
                }

                case ("PUT", ["_emulator", "landing"]):
                {
                    var url = Optional(await ReadControlAsync(context), "url");
                    LandingUrl = url is null ? null : new Uri(url, UriKind.Absolute);
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }

                case ("POST", ["_emulator", "metering", "unprocessed"]):
                {
                    var count = (await ReadControlAsync(context))?["count"]?.GetValue<int>() ?? throw new ArgumentException("count is required.");
                    LeaveUnprocessed(count);
                    context.Response.StatusCode = StatusCodes.Status204NoContent;
                    return;
                }

                case ("GET", ["_emulator", "metering"]):
                    await WriteControlAsync(context, 200, new JsonObject
                    {
                        ["records"] = JsonSerializer.SerializeToNode(Metered, ControlJson),
                    });
                    return;

                default:
                    await WriteControlAsync(context, 404, new JsonObject { ["error"] = "no such control endpoint" });
                    return;
            }
        }
        catch (Exception e) when (e is ArgumentException or JsonException or InvalidOperationException or UriFormatException or FormatException)
        {
            await WriteControlAsync(context, 400, new JsonObject { ["error"] = e.Message });
        }
        catch (HttpRequestException e)
        {
            await WriteControlAsync(context, 502, new JsonObject { ["error"] = $"the landing page did not answer: {e.Message}" });
        }
    }

    private static MintTokenRequest ReadMint(JsonNode? body) => new()
    {
        ProductCode = Optional(body, "productCode"),
        Style = Optional(body, "style") switch
        {
            null or "legacy" => BuyerStyle.Legacy,
            "newStyle" => BuyerStyle.NewStyle,
            var other => throw new ArgumentException($"style must be legacy or newStyle, not '{other}'."),
        },
        CustomerIdentifier = Optional(body, "customerIdentifier"),
        CustomerAwsAccountId = Optional(body, "customerAwsAccountId"),
        LicenseArn = Optional(body, "licenseArn"),
        Expired = body?["expired"]?.GetValue<bool>() ?? false,
    };

    private static JsonObject Describe(MintedToken minted) => new()
    {
        ["token"] = minted.Token,
        ["customerIdentifier"] = minted.CustomerIdentifier,
        ["customerAwsAccountId"] = minted.CustomerAwsAccountId,
        ["productCode"] = minted.ProductCode,
        ["licenseArn"] = minted.LicenseArn,
        ["expiresAt"] = minted.ExpiresAt.ToString("O", CultureInfo.InvariantCulture),
    };

    private static JsonObject Describe(EventDelivery delivery) => new()
    {
        ["delivered"] = delivery.Delivered,
        ["succeeded"] = delivery.Succeeded,
        ["response"] = delivery.Response is null ? null : TryParse(delivery.Response),
        ["error"] = delivery.Error,
        ["payload"] = TryParse(delivery.Payload),
    };

    private static JsonNode? TryParse(string json)
    {
        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return JsonValue.Create(json);
        }
    }

    private static string Required(JsonNode? body, string name) =>
        Optional(body, name) ?? throw new ArgumentException($"{name} is required.");

    private static string? Optional(JsonNode? body, string name) => body?[name]?.GetValue<string>();

    private static DateTimeOffset? OptionalTime(JsonNode? body, string name) =>
        Optional(body, name) is { } value ? DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal) : null;

    private static async Task<JsonNode?> ReadControlAsync(HttpContext context) =>
        context.Request.ContentLength is 0 ? null : await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);

    private static async Task WriteControlAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(ControlJson), context.RequestAborted);
    }
}
