using System.Net;

namespace Monetization.Aws.Http;

/// <summary>What kind of refusal an AWS answer was; callers branch on this, never on message text.</summary>
public enum AwsErrorKind
{
    BadRequest,
    NotFound,
    Conflict,
    Throttled,
    AccessDenied,

    /// <summary>The signature, access key or security token was not accepted.</summary>
    InvalidSignature,

    /// <summary>Marketplace <c>InvalidTokenException</c>: the registration token is not valid.</summary>
    InvalidToken,

    /// <summary>Marketplace <c>ExpiredTokenException</c>: the registration token has expired.</summary>
    ExpiredToken,

    /// <summary>A 5xx answer: the service failed, not the request.</summary>
    ServiceUnavailable,
}

/// <summary>An AWS service refused or failed a request (after any retries).</summary>
public sealed class AwsServiceException : Exception
{
    public AwsServiceException(
        string service, string operation, HttpStatusCode statusCode, AwsErrorKind kind, string errorCode, string? serviceMessage, string? requestId)
        : base(Describe(service, operation, statusCode, errorCode, serviceMessage, requestId))
    {
        Service = service;
        Operation = operation;
        StatusCode = statusCode;
        Kind = kind;
        ErrorCode = errorCode;
        ServiceMessage = serviceMessage;
        RequestId = requestId;
    }

    /// <summary>An answer that was accepted but could not be used (empty body, unexpected status).</summary>
    public AwsServiceException(string message)
        : base(message)
    {
        Service = "unknown";
        Operation = "unknown";
        StatusCode = HttpStatusCode.OK;
        Kind = AwsErrorKind.ServiceUnavailable;
        ErrorCode = "Unusable";
    }

    public AwsServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
        Service = "unknown";
        Operation = "unknown";
        Kind = AwsErrorKind.ServiceUnavailable;
        ErrorCode = "Unusable";
    }

    public string Service { get; }

    public string Operation { get; }

    public HttpStatusCode StatusCode { get; }

    public AwsErrorKind Kind { get; }

    /// <summary>The service's error code without namespace, e.g. <c>ConflictException</c> or <c>AccessDenied</c>.</summary>
    public string ErrorCode { get; }

    public string? ServiceMessage { get; }

    public string? RequestId { get; }

    public bool IsRetryable => Kind is AwsErrorKind.Throttled or AwsErrorKind.ServiceUnavailable;

    private static string Describe(string service, string operation, HttpStatusCode status, string code, string? message, string? requestId) =>
        $"{service} {operation} failed with {(int)status} {code}" +
        (string.IsNullOrEmpty(message) ? string.Empty : $": {message}") +
        (string.IsNullOrEmpty(requestId) ? string.Empty : $" (request id {requestId})");
}
