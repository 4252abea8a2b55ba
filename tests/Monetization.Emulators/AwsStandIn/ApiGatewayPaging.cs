using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.WebUtilities;

namespace Monetization.Emulators.AwsStandIn;

/// <summary>
/// API Gateway's paging of <c>GET /apikeys</c>, <c>/usageplans</c> and <c>/usageplans/{id}/keys</c>, for a client of
/// moto. moto (5.2.1) answers these with every item and ignores <c>limit</c> and <c>position</c>, so a reader that stops
/// after one page passes against moto and misses items against AWS. This handler asks moto for everything and hands
/// back what API Gateway would: at most <c>limit</c> items (25 by default, 500 at most, as botocore's model documents
/// for GetApiKeys, GetUsagePlans and GetUsagePlanKeys) and an opaque <c>position</c> while more remain. Items come in id
/// order and a position names the last id given, so a key created while a reader pages never shifts another onto a
/// page the reader has already read. Put it outermost on the client: it rewrites the query before the request is signed.
/// </summary>
public sealed class ApiGatewayPaging : DelegatingHandler
{
    private const int DefaultLimit = 25;
    private const int MaxLimit = 500;

    private readonly ConcurrentQueue<string> _pages = new();

    public ApiGatewayPaging(HttpMessageHandler innerHandler)
        : base(innerHandler)
    {
    }

    /// <summary>Every page served, as the path and query the client asked for, in order.</summary>
    public IReadOnlyList<string> Pages => [.. _pages];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new InvalidOperationException("The request has no URI.");
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (request.Method != HttpMethod.Get || segments is not (["apikeys"] or ["usageplans"] or ["usageplans", _, "keys"]))
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        var query = QueryHelpers.ParseQuery(uri.Query);
        var limit = DefaultLimit;
        if (query.TryGetValue("limit", out var limitText)
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            return BadRequest(request, $"limit must be between 1 and {MaxLimit}.");
        }

        string? after = null;
        if (query.TryGetValue("position", out var positionText) && (after = Decode(positionText.ToString())) is null)
        {
            return BadRequest(request, "Invalid position.");
        }

        _pages.Enqueue(uri.PathAndQuery);
        var rest = query.Where(q => q.Key is not ("limit" or "position")).SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string?>(q.Key, v)));
        request.RequestUri = new Uri(QueryHelpers.AddQueryString(uri.GetLeftPart(UriPartial.Path), rest));
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return response;
        }

        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)) as JsonObject
            ?? throw new InvalidOperationException($"moto answered {uri.AbsolutePath} with something other than a JSON object.");
        var items = (body["item"] as JsonArray ?? [])
            .OfType<JsonObject>()
            .Select(item => (Id: item["id"]?.GetValue<string>() ?? string.Empty, Item: item))
            .OrderBy(item => item.Id, StringComparer.Ordinal)
            .Where(item => after is null || string.CompareOrdinal(item.Id, after) > 0)
            .ToList();
        var page = items.Take(limit).ToList();
        body["item"] = new JsonArray([.. page.Select(item => item.Item.DeepClone())]);
        body.Remove("position");
        if (items.Count > page.Count)
        {
            body["position"] = Encode(page[^1].Id);
        }

        response.Content.Dispose();
        response.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        return response;
    }

    private static string Encode(string id) => WebEncoders.Base64UrlEncode(Encoding.UTF8.GetBytes(id));

    private static string? Decode(string position)
    {
        try
        {
            return position.Length == 0 ? null : Encoding.UTF8.GetString(WebEncoders.Base64UrlDecode(position));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static HttpResponseMessage BadRequest(HttpRequestMessage request, string message)
    {
        var response = new HttpResponseMessage(HttpStatusCode.BadRequest)
        {
            RequestMessage = request,
            Content = new StringContent(new JsonObject { ["message"] = message }.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        response.Headers.TryAddWithoutValidation("x-amzn-ErrorType", "BadRequestException");
        return response;
    }
}
