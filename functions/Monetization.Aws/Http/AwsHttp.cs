namespace Monetization.Aws.Http;

/// <summary>Everything needed to call one service: where, as whom, and signed for which region and service.</summary>
public sealed record AwsConnection(AwsService Service, string Region, Uri Endpoint, IAwsCredentialsSource Credentials)
{
    /// <summary>
    /// Options first, then the standard settings read through <paramref name="variables"/> (the process environment
    /// when not given), then the shared profile and the default credential chain.
    /// </summary>
    public static AwsConnection Resolve(AwsService service, AwsClientOptions options, Func<string, string?>? variables = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        variables ??= Environment.GetEnvironmentVariable;
        var region = options.Region ?? AwsRegion.Resolve(variables)
            ?? throw new InvalidOperationException($"No AWS region for {service.SigningName}: set the Region option, AWS_REGION or a profile region.");
        var endpoint = options.ServiceUrl ?? AwsEndpoints.Resolve(service, region, variables);
        var credentials = options.Credentials is { } fixedCredentials ? AwsCredentialsSource.Fixed(fixedCredentials) : AwsCredentialsSource.DefaultChain;
        return new AwsConnection(service, region, endpoint, credentials);
    }
}

public static class AwsHttp
{
    /// <summary>The handler chain every AWS call goes through: retry outside, signing inside, then the wire.</summary>
    public static DelegatingHandler CreateHandlers(AwsConnection connection, AwsClientOptions options, TimeProvider time, HttpMessageHandler primary)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(primary);
        return new AwsRetryHandler(options, time)
        {
            InnerHandler = new AwsSigningHandler(connection.Credentials, connection.Region, connection.Service.SigningName, time)
            {
                InnerHandler = primary,
            },
        };
    }

    /// <summary>An <see cref="HttpClient"/> for one service outside dependency injection (tools, tests, the sandbox).</summary>
    public static HttpClient CreateClient(AwsConnection connection, AwsClientOptions options, TimeProvider? time = null, HttpMessageHandler? primary = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        var handlers = CreateHandlers(connection, options, time ?? TimeProvider.System, primary ?? new SocketsHttpHandler());
        return new HttpClient(handlers, disposeHandler: true) { BaseAddress = connection.Endpoint, Timeout = options.Timeout };
    }
}
