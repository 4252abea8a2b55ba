namespace Monetization.Aws.Http;

/// <summary>
/// Signs every attempt just before it is sent, after the body is serialized, so a retried request carries a fresh
/// <c>X-Amz-Date</c> and signature.
/// </summary>
public sealed class AwsSigningHandler : DelegatingHandler
{
    private readonly IAwsCredentialsSource _credentials;
    private readonly string _region;
    private readonly string _service;
    private readonly TimeProvider _time;

    public AwsSigningHandler(IAwsCredentialsSource credentials, string region, string signingName, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        ArgumentException.ThrowIfNullOrWhiteSpace(signingName);
        ArgumentNullException.ThrowIfNull(time);
        _credentials = credentials;
        _region = region;
        _service = signingName;
        _time = time;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var credentials = await _credentials.GetAsync(cancellationToken);
        AwsRequestSigner.Sign(request, body, credentials, _region, _service, _time.GetUtcNow());
        return await base.SendAsync(request, cancellationToken);
    }
}
