using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Monetization.Core;

namespace Monetization.Aws.Ledger;

/// <summary>
/// The ledger's side of the one failure policy: DynamoDB not answering usably after the SDK's own retries
/// (throttled, 5xx, timed out, unreachable) becomes a <see cref="DependencyUnavailableException"/>; a refusal of the
/// request (a failed condition, validation) stays the SDK's exception for the caller to decide on. Each call is also
/// held to the request's <see cref="CallBudget"/>.
/// </summary>
internal static class DynamoDbFaults
{
    private const string Service = "dynamodb";

    private static readonly HashSet<string> ThrottlingCodes = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded", "ThrottlingError",
        "ProvisionedThroughputExceeded", "TransactionConflict", "TransactionInProgressException", "InternalServerError",
    };

    public static async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(CallBudget.Limit(Timeout.InfiniteTimeSpan));
        try
        {
            return await call(budget.Token);
        }
        catch (Exception e) when (IsUnavailable(e, cancellationToken))
        {
            throw new DependencyUnavailableException(Service, operation, e);
        }
    }

    private static bool IsUnavailable(Exception e, CancellationToken cancellationToken) => e switch
    {
        // Cancelled by the budget or the SDK's own timeout, not by the caller.
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        ConditionalCheckFailedException => false,

        // A transaction refused for its conditions is the caller's answer; one cancelled only for throttling or a
        // conflicting transaction is the service's.
        TransactionCanceledException cancelled => cancelled.CancellationReasons is { Count: > 0 } reasons
            && reasons.Any(r => r.Code is { } code && ThrottlingCodes.Contains(code))
            && reasons.All(r => r.Code is null || r.Code == "None" || ThrottlingCodes.Contains(r.Code)),
        AmazonServiceException service => (int)service.StatusCode >= 500 || (service.ErrorCode is { } code && ThrottlingCodes.Contains(code))
            || service.InnerException is HttpRequestException or IOException,
        AmazonClientException client => client.InnerException is HttpRequestException or IOException or OperationCanceledException,
        HttpRequestException or IOException => true,
        _ => false,
    };
}
