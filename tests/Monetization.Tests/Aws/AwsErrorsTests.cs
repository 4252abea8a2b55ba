using System.Net;
using System.Text;
using Monetization.Aws.Http;
using Monetization.Core;

namespace Monetization.Tests.Aws;

public sealed class AwsErrorsTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static HttpResponseMessage Response(HttpStatusCode status, string body, string mediaType, string? errorTypeHeader = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        if (errorTypeHeader is not null)
        {
            response.Headers.TryAddWithoutValidation("x-amzn-ErrorType", errorTypeHeader);
        }

        return response;
    }

    [Fact]
    public async Task AnXmlAccessDeniedIsAccessDenied()
    {
        using var response = Response(
            HttpStatusCode.Forbidden,
            "<ErrorResponse><Errors><Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/u is not authorized</Message></Error></Errors><RequestId>r-9</RequestId></ErrorResponse>",
            "text/xml");

        var error = await AwsErrors.ToExceptionAsync(response, "apigateway", "DeleteApiKey", null, Cancel);

        Assert.Equal(AwsErrorKind.AccessDenied, error.Kind);
        Assert.Equal("AccessDenied", error.ErrorCode);
        Assert.Equal("User: arn:aws:iam::123456789012:user/u is not authorized", error.ServiceMessage);
        Assert.Equal("r-9", error.RequestId);
    }

    [Fact]
    public async Task AJsonForbiddenWithoutAKnownCodeIsStillAccessDenied()
    {
        using var response = Response(HttpStatusCode.Forbidden, """{"Message":"User is not authorized"}""", "application/json");

        var error = await AwsErrors.ToExceptionAsync(response, "apigateway", "GetApiKey", null, Cancel);

        Assert.Equal(AwsErrorKind.AccessDenied, error.Kind);
        Assert.Equal("User is not authorized", error.ServiceMessage);
    }

    [Fact]
    public async Task TheErrorTypeHeaderWinsAndLosesItsNamespace()
    {
        using var response = Response(HttpStatusCode.Conflict, """{"message":"exists"}""", "application/json", "ConflictException:http://internal.amazon.com/coral/x/");

        var error = await AwsErrors.ToExceptionAsync(response, "apigateway", "CreateUsagePlanKey", null, Cancel);

        Assert.Equal(AwsErrorKind.Conflict, error.Kind);
        Assert.Equal("ConflictException", error.ErrorCode);
    }

    [Fact]
    public async Task SecretsEchoedByTheServiceAreRedactedFromTheMessage()
    {
        var token = new Secret("tok-123");
        using var response = Response(HttpStatusCode.BadRequest, """{"__type":"ValidationException","message":"Value 'tok-123' is not valid"}""", "application/x-amz-json-1.1");

        var error = await AwsErrors.ToExceptionAsync(response, "aws-marketplace", "ResolveCustomer", [token], Cancel);

        Assert.DoesNotContain("tok-123", error.Message, StringComparison.Ordinal);
        Assert.Contains("Value '***' is not valid", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(429, "TooManyRequestsException", AwsErrorKind.Throttled)]
    [InlineData(400, "ThrottlingException", AwsErrorKind.Throttled)]
    [InlineData(400, "InvalidTokenException", AwsErrorKind.InvalidToken)]
    [InlineData(400, "ExpiredTokenException", AwsErrorKind.ExpiredToken)]
    [InlineData(403, "SignatureDoesNotMatch", AwsErrorKind.InvalidSignature)]
    [InlineData(403, "InvalidClientTokenId", AwsErrorKind.InvalidSignature)]
    [InlineData(401, "UnauthorizedException", AwsErrorKind.AccessDenied)]
    [InlineData(404, "NotFoundException", AwsErrorKind.NotFound)]
    [InlineData(400, "BadRequestException", AwsErrorKind.BadRequest)]
    [InlineData(503, "ServiceUnavailableException", AwsErrorKind.ServiceUnavailable)]
    [InlineData(500, "InternalServiceErrorException", AwsErrorKind.ServiceUnavailable)]
    public void CodesAndStatusesMapToKinds(int status, string code, AwsErrorKind expected)
    {
        Assert.Equal(expected, AwsErrors.Classify((HttpStatusCode)status, code));
    }

    [Theory]
    [InlineData(429, "TooManyRequestsException", true)]
    [InlineData(400, "ThrottlingException", true)]
    [InlineData(500, "InternalFailure", true)]
    [InlineData(400, "BadRequestException", false)]
    [InlineData(403, "AccessDenied", false)]
    [InlineData(404, "NotFoundException", false)]
    [InlineData(409, "ConflictException", false)]
    public void OnlyThrottlingAndServerFaultsAreRetryable(int status, string code, bool retryable)
    {
        Assert.Equal(retryable, AwsErrors.IsRetryable((HttpStatusCode)status, code));
    }
}
