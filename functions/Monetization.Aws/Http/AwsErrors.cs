using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Xml;
using Monetization.Core;

namespace Monetization.Aws.Http;

/// <summary>
/// Reads AWS error answers in the shapes the services and emulators use: rest-json (<c>x-amzn-ErrorType</c> header,
/// body <c>message</c>), JSON 1.x (<c>__type</c>, possibly namespaced) and the XML <c>ErrorResponse</c> that IAM-style
/// refusals (signature, access denied) come back as.
/// </summary>
public static class AwsErrors
{
    private static readonly HashSet<string> ThrottlingCodes = new(StringComparer.Ordinal)
    {
        "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException", "RequestThrottled",
        "RequestThrottledException", "RequestLimitExceeded", "SlowDown", "ProvisionedThroughputExceededException",
        "BandwidthLimitExceeded", "LimitExceededException",
    };

    private static readonly HashSet<string> SignatureCodes = new(StringComparer.Ordinal)
    {
        "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "IncompleteSignatureException",
        "InvalidClientTokenId", "UnrecognizedClientException", "MissingAuthenticationToken", "MissingAuthenticationTokenException",
        "AuthFailure", "RequestExpired",
    };

    private static readonly HashSet<string> AccessDeniedCodes = new(StringComparer.Ordinal)
    {
        "AccessDenied", "AccessDeniedException", "UnauthorizedException", "UnauthorizedOperation", "NotAuthorized",
    };

    public static bool IsRetryable(HttpStatusCode status, string? errorCode) =>
        Classify(status, errorCode) is AwsErrorKind.Throttled or AwsErrorKind.ServiceUnavailable;

    public static AwsErrorKind Classify(HttpStatusCode status, string? errorCode)
    {
        var code = errorCode ?? string.Empty;
        if (status == HttpStatusCode.TooManyRequests || ThrottlingCodes.Contains(code))
        {
            return AwsErrorKind.Throttled;
        }

        if (code == "InvalidTokenException")
        {
            return AwsErrorKind.InvalidToken;
        }

        if (code == "ExpiredTokenException")
        {
            return AwsErrorKind.ExpiredToken;
        }

        if (SignatureCodes.Contains(code))
        {
            return AwsErrorKind.InvalidSignature;
        }

        if ((int)status >= 500)
        {
            return AwsErrorKind.ServiceUnavailable;
        }

        if (AccessDeniedCodes.Contains(code) || status is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
        {
            return AwsErrorKind.AccessDenied;
        }

        return status switch
        {
            HttpStatusCode.NotFound => AwsErrorKind.NotFound,
            HttpStatusCode.Conflict => AwsErrorKind.Conflict,
            _ => code switch
            {
                "NotFoundException" or "ResourceNotFoundException" => AwsErrorKind.NotFound,
                "ConflictException" => AwsErrorKind.Conflict,
                _ => AwsErrorKind.BadRequest,
            },
        };
    }

    /// <summary>The error code of an unsuccessful answer; buffers the body so it can be read again.</summary>
    public static async Task<string?> ReadErrorCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var (code, _, _) = await ReadAsync(response, cancellationToken);
        return code;
    }

    /// <param name="secrets">Values the request carried that must not reach the exception, even if the service echoes them.</param>
    public static async Task<AwsServiceException> ToExceptionAsync(
        HttpResponseMessage response, string service, string operation, IReadOnlyList<Secret>? secrets, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var (code, message, requestId) = await ReadAsync(response, cancellationToken);
        code ??= response.StatusCode.ToString();
        if (message is not null && secrets is not null)
        {
            foreach (var secret in secrets)
            {
                message = message.Replace(secret.Reveal(), secret.ToString(), StringComparison.Ordinal);
            }
        }

        return new AwsServiceException(service, operation, response.StatusCode, Classify(response.StatusCode, code), code, message, requestId);
    }

    private static async Task<(string? Code, string? Message, string? RequestId)> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var headerCode = Header(response.Headers, "x-amzn-ErrorType");
        var requestId = Header(response.Headers, "x-amzn-RequestId") ?? Header(response.Headers, "x-amz-request-id");
        string body;
        if (response.Content is null)
        {
            body = string.Empty;
        }
        else
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }

        var (bodyCode, message, bodyRequestId) = body.TrimStart() switch
        {
            var b when b.StartsWith('{') => FromJson(b),
            var b when b.StartsWith('<') => FromXml(b),
            _ => (null, null, null),
        };
        return (Normalize(headerCode) ?? Normalize(bodyCode), message, requestId ?? bodyRequestId);
    }

    private static string? Header(HttpResponseHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>Strips the namespaces services put around codes: <c>aws.protocols#X</c>, <c>X:http://internal...</c>.</summary>
    private static string? Normalize(string? code)
    {
        if (string.IsNullOrWhiteSpace(code))
        {
            return null;
        }

        var colon = code.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            code = code[..colon];
        }

        var hash = code.LastIndexOf('#');
        if (hash >= 0)
        {
            code = code[(hash + 1)..];
        }

        code = code.Trim();
        return code.Length == 0 ? null : code;
    }

    private static (string? Code, string? Message, string? RequestId) FromJson(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null, null);
            }

            return (
                String(document.RootElement, "__type") ?? String(document.RootElement, "code") ?? String(document.RootElement, "Code"),
                String(document.RootElement, "message") ?? String(document.RootElement, "Message"),
                null);
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static (string? Code, string? Message, string? RequestId) FromXml(string body)
    {
        string? code = null, message = null, requestId = null;
        try
        {
            using var reader = XmlReader.Create(new StringReader(body), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null });
            while (!reader.EOF)
            {
                if (reader.NodeType == XmlNodeType.Element)
                {
                    switch (reader.LocalName)
                    {
                        case "Code" when code is null:
                            code = reader.ReadElementContentAsString();
                            continue;
                        case "Message" when message is null:
                            message = reader.ReadElementContentAsString();
                            continue;
                        case "RequestId" or "RequestID" when requestId is null:
                            requestId = reader.ReadElementContentAsString();
                            continue;
                    }
                }

                reader.Read();
            }
        }
        catch (XmlException)
        {
            // A partial answer still gives whatever was read before the fault.
        }

        return (code, message, requestId);
    }
}
