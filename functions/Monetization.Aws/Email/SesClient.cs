using System.Net.Http.Headers;
using System.Net.Http.Json;
using Monetization.Aws.Http;
using Monetization.Core;

namespace Monetization.Aws.Email;

/// <summary>Amazon SES API v2 (rest-json). Refusals surface as <see cref="AwsServiceException"/>.</summary>
public sealed class SesClient
{
    public const string Service = "ses";

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;

    public SesClient(HttpClient http)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
    }

    /// <summary><c>POST /v2/email/outbound-emails</c>.</summary>
    /// <param name="redact">Values kept out of error messages even when SES echoes them (the recipients).</param>
    /// <returns>The <c>MessageId</c> SES gave the accepted message.</returns>
    public async Task<string> SendEmailAsync(SendEmailRequest request, IReadOnlyList<Secret>? redact, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var message = new HttpRequestMessage(HttpMethod.Post, AwsCall.Url(_http, "/v2/email/outbound-emails"))
        {
            Content = JsonContent.Create(request, SesJsonContext.Default.SendEmailRequest, Json),
        };
        using var response = await AwsCall.SendAsync(_http, message, Service, "SendEmail", redact, cancellationToken);
        var result = await response.Content.ReadFromJsonAsync(SesJsonContext.Default.SendEmailResult, cancellationToken);
        return result?.MessageId is { Length: > 0 } id ? id : throw new AwsServiceException("ses SendEmail answered without a MessageId.");
    }

    /// <summary><c>GET /v2/email/account</c>: sandbox or production, sending enabled, quotas.</summary>
    public async Task<SesAccount> GetAccountAsync(CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Get, AwsCall.Url(_http, "/v2/email/account"));
        using var response = await AwsCall.SendAsync(_http, message, Service, "GetAccount", null, cancellationToken);
        return await response.Content.ReadFromJsonAsync(SesJsonContext.Default.SesAccount, cancellationToken)
            ?? throw new AwsServiceException("ses GetAccount answered an empty body.");
    }

    /// <summary><c>GET /v2/email/identities/{identity}</c>; null when SES holds no such identity.</summary>
    public async Task<SesEmailIdentity?> GetEmailIdentityAsync(string identity, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(identity);
        using var message = new HttpRequestMessage(HttpMethod.Get, AwsCall.Url(_http, "/v2/email/identities/" + AwsCall.Segment(identity)));
        try
        {
            using var response = await AwsCall.SendAsync(_http, message, Service, "GetEmailIdentity", null, cancellationToken);
            return await response.Content.ReadFromJsonAsync(SesJsonContext.Default.SesEmailIdentity, cancellationToken)
                ?? throw new AwsServiceException("ses GetEmailIdentity answered an empty body.");
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            return null;
        }
    }

    /// <summary><c>GET /v2/email/configuration-sets/{name}</c>; null when SES holds no such configuration set.</summary>
    public async Task<SesConfigurationSet?> GetConfigurationSetAsync(string name, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        using var message = new HttpRequestMessage(HttpMethod.Get, AwsCall.Url(_http, "/v2/email/configuration-sets/" + AwsCall.Segment(name)));
        try
        {
            using var response = await AwsCall.SendAsync(_http, message, Service, "GetConfigurationSet", null, cancellationToken);
            return await response.Content.ReadFromJsonAsync(SesJsonContext.Default.SesConfigurationSet, cancellationToken)
                ?? throw new AwsServiceException("ses GetConfigurationSet answered an empty body.");
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            return null;
        }
    }
}
