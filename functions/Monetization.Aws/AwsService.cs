namespace Monetization.Aws;

/// <summary>How one AWS service is named for signing and for the standard endpoint settings.</summary>
/// <param name="SigningName">The SigV4 service name in the credential scope.</param>
/// <param name="EndpointVariableSuffix">The <c>AWS_ENDPOINT_URL_&lt;suffix&gt;</c> setting, from the service id.</param>
/// <param name="HostPrefix">The first labels of the public regional host name.</param>
public sealed record AwsService(string SigningName, string EndpointVariableSuffix, string HostPrefix)
{
    public static AwsService ApiGateway { get; } = new("apigateway", "API_GATEWAY", "apigateway");

    public static AwsService MarketplaceMetering { get; } = new("aws-marketplace", "MARKETPLACE_METERING", "metering.marketplace");

    public static AwsService SecretsManager { get; } = new("secretsmanager", "SECRETS_MANAGER", "secretsmanager");

    /// <summary>Amazon SQS on its JSON 1.0 protocol (botocore sqs/2012-11-05).</summary>
    public static AwsService Sqs { get; } = new("sqs", "SQS", "sqs");

    /// <summary>Amazon SES API v2: service id <c>SESv2</c>, endpoint prefix <c>email</c>, signing name <c>ses</c> (botocore sesv2/2019-09-27).</summary>
    public static AwsService Ses { get; } = new("ses", "SESV2", "email");
}
