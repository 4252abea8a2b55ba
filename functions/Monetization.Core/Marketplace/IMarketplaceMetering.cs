namespace Monetization.Core.Marketplace;

/// <summary>What <c>ResolveCustomer</c> told us. Expected outcomes are values; faults (after retries) are exceptions.</summary>
public abstract record ResolveCustomerOutcome
{
    private ResolveCustomerOutcome()
    {
    }

    /// <param name="CustomerIdentifier">Legacy identifier; not populated for new products.</param>
    public sealed record Resolved(string? CustomerIdentifier, string CustomerAwsAccountId, string ProductCode, string? LicenseArn) : ResolveCustomerOutcome;

    public sealed record InvalidToken : ResolveCustomerOutcome;

    public sealed record ExpiredToken : ResolveCustomerOutcome;
}

/// <summary>One metering record; exactly one of <see cref="CustomerIdentifier"/> or <see cref="CustomerAwsAccountId"/> is set.</summary>
public sealed record MeteringRecord(
    DateTimeOffset Timestamp,
    string? CustomerIdentifier,
    string? CustomerAwsAccountId,
    string? LicenseArn,
    string Dimension,
    int Quantity);

public enum MeteringRecordStatus
{
    Success,
    CustomerNotSubscribed,
    DuplicateRecord,

    /// <summary>Returned in <c>UnprocessedRecords</c>: must be sent again.</summary>
    Unprocessed,
}

public sealed record MeteringRecordResult(MeteringRecord Record, MeteringRecordStatus Status, string? MeteringRecordId);

public interface IMarketplaceMetering
{
    Task<ResolveCustomerOutcome> ResolveCustomerAsync(Secret registrationToken, CancellationToken cancellationToken);

    /// <summary>At most 25 records per call (the service's limit).</summary>
    Task<IReadOnlyList<MeteringRecordResult>> BatchMeterUsageAsync(
        string productCode, IReadOnlyList<MeteringRecord> records, CancellationToken cancellationToken);
}
