using System.Net.Http.Headers;
using System.Text;
using Amazon.Runtime;
using Monetization.Aws.Http;

namespace Monetization.Tests.Aws;

/// <summary>
/// Expected values come from the AWS SigV4 test suite (which signs no content hash header) and from botocore's
/// signer on the same requests.
/// </summary>
public sealed class AwsRequestSignerTests
{
    private static readonly ImmutableCredentials Example = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    [Fact]
    public void SigningTheSuitesVanillaGetGivesTheSuitesSignature()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.amazonaws.com/");

        AwsRequestSigner.Sign(request, [], Example, "us-east-1", "service", SuiteTime, sendContentHash: false);

        Assert.Equal("20150830T123600Z", Header(request, "X-Amz-Date"));
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, " +
            "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            Header(request, "Authorization"));
    }

    [Fact]
    public void QueryParametersAreSortedBeforeSigning()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.amazonaws.com/?Param2=value2&Param1=value1");

        AwsRequestSigner.Sign(request, [], Example, "us-east-1", "service", SuiteTime, sendContentHash: false);

        Assert.EndsWith("Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", Header(request, "Authorization"), StringComparison.Ordinal);
    }

    [Fact]
    public void EscapedPathSegmentsBodyAndContentTypeAreSignedLikeBotocore()
    {
        var body = Encoding.UTF8.GetBytes("{\"keyId\":\"k1\",\"keyType\":\"API_KEY\"}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://apigateway.eu-west-1.amazonaws.com/usageplans/a%20b/keys?name=x%2Fy&limit=5")
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = MediaTypeHeaderValue.Parse("application/json; charset=utf-8") } },
        };

        AwsRequestSigner.Sign(request, body, Example, "eu-west-1", "apigateway", SuiteTime);

        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/apigateway/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, " +
            "Signature=a02d370a83ac23ba590b9d40680f52347105678611452d77e9bf66772a4e2cb6",
            Header(request, "Authorization"));
    }

    [Fact]
    public void SessionCredentialsAddAndSignTheSecurityToken()
    {
        var session = new ImmutableCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-1");
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.amazonaws.com/");

        AwsRequestSigner.Sign(request, [], session, "us-east-1", "service", SuiteTime);

        Assert.Equal("session-token-1", Header(request, "X-Amz-Security-Token"));
        Assert.Equal(AwsRequestSigner.PayloadHash([]), Header(request, "X-Amz-Content-SHA256"));
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, " +
            "Signature=d9df0a1ceeea3b30df825d37deda497ad3cc4f3194daa52dbb6960fb5434c6ff",
            Header(request, "Authorization"));
    }

    [Fact]
    public void SigningAgainReplacesTheEarlierSignatureAndDate()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://example.amazonaws.com/");
        AwsRequestSigner.Sign(request, [], Example, "us-east-1", "service", SuiteTime, sendContentHash: false);

        AwsRequestSigner.Sign(request, [], Example, "us-east-1", "service", SuiteTime.AddMinutes(1), sendContentHash: false);

        Assert.Equal("20150830T123700Z", Header(request, "X-Amz-Date"));
        Assert.Single(request.Headers.GetValues("Authorization"));
        Assert.DoesNotContain("5fa00fa3", Header(request, "Authorization"), StringComparison.Ordinal);
    }

    private static string Header(HttpRequestMessage request, string name) => string.Join(",", request.Headers.GetValues(name));
}
