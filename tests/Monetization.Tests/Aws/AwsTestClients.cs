using Amazon.Runtime;
using Monetization.Aws;
using Monetization.Aws.ApiGateway;
using Monetization.Aws.Email;
using Monetization.Aws.Http;
using Monetization.Aws.Marketplace;

namespace Monetization.Tests.Aws;

/// <summary>Clients wired exactly as production wires them, pointed at a local endpoint with explicit credentials.</summary>
internal static class AwsTestClients
{
    public static readonly ImmutableCredentials TestCredentials = new("AKIDTESTTESTTESTTEST", "test-secret-key", null);

    public static AwsClientOptions Options(Uri endpoint, ImmutableCredentials? credentials = null, int maxRetries = 3) => new()
    {
        Region = "us-east-1",
        ServiceUrl = endpoint,
        Credentials = credentials ?? TestCredentials,
        MaxRetries = maxRetries,
        RetryBaseDelay = TimeSpan.FromMilliseconds(1),
        RetryMaxDelay = TimeSpan.FromMilliseconds(5),
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static HttpClient Http(AwsService service, AwsClientOptions options, TimeProvider? time = null) =>
        AwsHttp.CreateClient(AwsConnection.Resolve(service, options, _ => null), options, time);

    public static ApiGatewayClient ApiGateway(Uri endpoint, ImmutableCredentials? credentials = null, int maxRetries = 3, TimeProvider? time = null) =>
        new(Http(AwsService.ApiGateway, Options(endpoint, credentials, maxRetries), time));

    public static MarketplaceMeteringClient Metering(Uri endpoint, int maxRetries = 3) =>
        new(Http(AwsService.MarketplaceMetering, Options(endpoint, null, maxRetries)));

    public static SesClient Ses(Uri endpoint, ImmutableCredentials? credentials = null, int maxRetries = 3, TimeSpan? timeout = null)
    {
        var options = Options(endpoint, credentials, maxRetries);
        options.Timeout = timeout ?? options.Timeout;
        return new(Http(AwsService.Ses, options));
    }

    /// <summary>The e-mail port on SES as the hosts get it, sending as <paramref name="from"/> in us-east-1.</summary>
    public static SesEmailSender EmailSender(
        Uri endpoint, string from, string? configurationSet = null, ImmutableCredentials? credentials = null, int maxRetries = 3, TimeSpan? timeout = null) =>
        new(Ses(endpoint, credentials, maxRetries, timeout), new EmailSettings { FromAddress = from, ConfigurationSetName = configurationSet }, "us-east-1");
}

/// <summary>A clock that moves a minute forward every time it is read, so consecutive signatures must differ.</summary>
internal sealed class SteppingTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _reads;

    public override DateTimeOffset GetUtcNow() => start.AddMinutes(Interlocked.Increment(ref _reads));
}
