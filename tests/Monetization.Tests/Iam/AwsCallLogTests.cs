using System.Text;
using Microsoft.AspNetCore.Http;
using Monetization.Emulators.Recording;

namespace Monetization.Tests.Iam;

/// <summary>What the recording proxies write for the IAM check: the authorization facts of a call, never item data.</summary>
public sealed class AwsCallLogTests
{
    private static readonly Dictionary<string, string> LogicalIds = new(StringComparer.Ordinal)
    {
        ["abc123"] = "StripeUsagePlan",
        ["monetization-ledger"] = "LedgerTable",
        ["no-reply@monetization.example"] = "EmailSenderAddress",
        ["monetization-mail"] = "EmailConfigurationSet",
    };

    [Fact]
    public async Task ApiGatewayCallIsRecordedWithItsServiceVerbAndPathInLogicalIds()
    {
        var request = Request("POST", "/usageplans/abc123/keys", "apigateway", null, """{"keyId":"k1","keyType":"API_KEY"}""");

        var call = await AwsCallLog.DescribeAsync("PortalFunction", request, LogicalIds, TestContext.Current.CancellationToken);

        Assert.Equal("PortalFunction", (string?)call["function"]);
        Assert.Equal("apigateway", (string?)call["service"]);
        Assert.Equal("POST", (string?)call["method"]);
        Assert.Equal("/usageplans/StripeUsagePlan/keys", (string?)call["path"]);
        Assert.Null(call["resources"]);
    }

    [Fact]
    public async Task DynamoDbTransactionIsRecordedWithEachItemsKindAndTableButNoItemData()
    {
        var body = """{"TransactItems":[{"Put":{"TableName":"monetization-ledger","Item":{"pk":{"S":"SUB#stripe#ada@example.com"}}}},{"Delete":{"TableName":"other","Key":{}}}]}""";
        var request = Request("POST", "/", "dynamodb", "DynamoDB_20120810.TransactWriteItems", body);

        var call = await AwsCallLog.DescribeAsync("PortalFunction", request, LogicalIds, TestContext.Current.CancellationToken);

        Assert.Equal("DynamoDB_20120810.TransactWriteItems", (string?)call["target"]);
        Assert.Equal("""{"TransactItems":[{"kind":"Put","TableName":"LedgerTable"},{"kind":"Delete","TableName":"other"}]}""", call["resources"]!.ToJsonString());
        Assert.DoesNotContain("ada@example.com", call.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SesSendEmailIsRecordedWithItsSenderIdentityAndConfigurationSetButNoRecipientOrContent()
    {
        var body = """
            {"FromEmailAddress":"Monetization sandbox <no-reply@monetization.example>","Destination":{"ToAddresses":["ada@example.org"]},
             "Content":{"Simple":{"Subject":{"Data":"Your sign-in link"},"Body":{"Text":{"Data":"https://portal/signin?token=s3cr3t"}}}},
             "ConfigurationSetName":"monetization-mail"}
            """;
        var request = Request("POST", "/v2/email/outbound-emails", "ses", null, body);

        var call = await AwsCallLog.DescribeAsync("PortalFunction", request, LogicalIds, TestContext.Current.CancellationToken);

        Assert.Equal("ses", (string?)call["service"]);
        Assert.Equal("""{"FromEmailAddress":"EmailSenderAddress","ConfigurationSetName":"EmailConfigurationSet"}""", call["resources"]!.ToJsonString());
        Assert.DoesNotContain("ada@example.org", call.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", call.ToJsonString(), StringComparison.Ordinal);
    }

    private static HttpRequest Request(string method, string path, string service, string? target, string body)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Path = path;
        context.Request.Headers.Authorization = $"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=00";
        if (target is not null)
        {
            context.Request.Headers["X-Amz-Target"] = target;
        }

        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        return context.Request;
    }
}
