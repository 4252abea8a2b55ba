namespace Monetization.Core;

/// <summary>
/// A service the flows depend on (API Gateway, Marketplace Metering, DynamoDB, Stripe) did not answer usably after the
/// adapter's own retries: throttled, failing, timed out or unreachable. It is the one fault adapters report to the
/// flows and hosts, so a host answers "try again" for this and nothing else; a refusal caused by the request itself
/// or a programming error is never wrapped in it.
/// </summary>
public sealed class DependencyUnavailableException : Exception
{
    public DependencyUnavailableException(string dependency, string operation, Exception innerException)
        : base($"{dependency} did not answer {operation} usably.", innerException)
    {
        Dependency = dependency;
        Operation = operation;
    }

    /// <summary>Which service failed, e.g. <c>apigateway</c>, <c>dynamodb</c>, <c>stripe</c>, <c>aws-marketplace</c>.</summary>
    public string Dependency { get; }

    /// <summary>The operation that failed, e.g. <c>CreateApiKey</c> or <c>POST /v1/customers</c>.</summary>
    public string Operation { get; }
}
