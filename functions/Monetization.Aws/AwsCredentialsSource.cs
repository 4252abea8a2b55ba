using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace Monetization.Aws;

/// <summary>Where request-signing credentials come from. Asked once per attempt so rotated credentials are picked up.</summary>
public interface IAwsCredentialsSource
{
    Task<ImmutableCredentials> GetAsync(CancellationToken cancellationToken);
}

public static class AwsCredentialsSource
{
    /// <summary>AWSSDK.Core's default chain: environment, web identity, shared profile, container / instance role.</summary>
    public static IAwsCredentialsSource DefaultChain { get; } = new DefaultChainCredentials();

    public static IAwsCredentialsSource Fixed(ImmutableCredentials credentials) => new FixedCredentials(credentials);

    private sealed class FixedCredentials(ImmutableCredentials credentials) : IAwsCredentialsSource
    {
        private readonly ImmutableCredentials _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));

        public Task<ImmutableCredentials> GetAsync(CancellationToken cancellationToken) => Task.FromResult(_credentials);
    }

    private sealed class DefaultChainCredentials : IAwsCredentialsSource
    {
        public async Task<ImmutableCredentials> GetAsync(CancellationToken cancellationToken)
        {
            // The resolver caches the chain's answer and the credentials object refreshes itself before expiry.
            var credentials = await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null).WaitAsync(cancellationToken);
            return await credentials.GetCredentialsAsync().WaitAsync(cancellationToken)
                ?? throw new InvalidOperationException("The default AWS credential chain returned no credentials.");
        }
    }
}
