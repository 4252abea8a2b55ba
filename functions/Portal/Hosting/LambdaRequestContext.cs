using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Monetization.Portal.Hosting;

/// <summary>
/// The API Gateway request context the AWS Lambda Web Adapter passes to the app as the header
/// <c>x-amzn-request-context</c>: the event's <c>requestContext</c> as JSON (for an HTTP API, payload 2.0:
/// <c>requestId</c>, <c>http.sourceIp</c>, ...). Fields are read without building a document.
/// </summary>
/// <remarks>
/// The adapter writes the header itself and replaces any copy the client sent: awslabs/aws-lambda-web-adapter
/// v1.0.0-rc1 (the release of layer <c>LambdaAdapterLayerX86:26</c>), <c>src/lib.rs</c> lines 921-927,
/// <c>fetch_response</c> takes the event's headers and calls <c>req_headers.insert("x-amzn-request-context", ...)</c>
/// (<c>http::HeaderMap::insert</c> drops every earlier value of the name), and
/// <c>tests/integ_tests/main.rs</c> <c>test_http_context_multi_headers</c> sends two client copies and checks exactly one
/// reaches the app. Behind the adapter the header is therefore API Gateway's word, not the client's.
/// </remarks>
internal static class LambdaRequestContext
{
    public const string Header = "x-amzn-request-context";

    /// <summary>Longer request contexts are not searched: reading one must stay cheap.</summary>
    private const int MaxContextBytes = 16 * 1024;

    /// <summary>The top-level <c>requestId</c>, or null when it is absent or the context is malformed.</summary>
    public static string? RequestIdOf(string context) => StringAt(context, section: default, "requestId"u8);

    /// <summary>The client's address as API Gateway saw it (<c>http.sourceIp</c>), or null when it is absent, not an address, or the context is malformed.</summary>
    public static System.Net.IPAddress? SourceIpOf(string context) =>
        StringAt(context, "http"u8, "sourceIp"u8) is { } text && System.Net.IPAddress.TryParse(text, out var address) ? address : null;

    /// <summary>The string at <paramref name="name"/>, top level when <paramref name="section"/> is empty, else inside that top-level object.</summary>
    private static string? StringAt(string context, ReadOnlySpan<byte> section, ReadOnlySpan<byte> name)
    {
        if (context.Length is 0 or > MaxContextBytes)
        {
            return null;
        }

        var depth = section.IsEmpty ? 1 : 2;
        string? found = null;
        var buffer = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(context.Length));
        try
        {
            var reader = new Utf8JsonReader(buffer.AsSpan(0, Encoding.UTF8.GetBytes(context, buffer)));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName)
                {
                    continue;
                }

                if (reader.CurrentDepth == 1 && depth == 2)
                {
                    var isSection = reader.ValueTextEquals(section);
                    reader.Read();
                    if (!isSection)
                    {
                        reader.Skip();
                    }
                    else if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        return null;
                    }

                    continue;
                }

                if (reader.CurrentDepth == depth)
                {
                    var isName = reader.ValueTextEquals(name);
                    reader.Read();
                    if (!isName)
                    {
                        reader.Skip();
                    }
                    else if (reader.TokenType != JsonTokenType.String || found is not null)
                    {
                        return null;
                    }
                    else
                    {
                        found = reader.GetString();
                    }
                }
            }

            // Read to the end, so a context followed by anything (a second one joined to it, say) names nothing.
            return found;
        }
        catch (JsonException)
        {
            // A malformed context names nothing.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return null;
    }
}
