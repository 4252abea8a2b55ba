using Monetization.Aws.Http;
using Monetization.Core;
using Monetization.Core.Marketplace;

namespace Monetization.Aws.Marketplace;

/// <summary><see cref="IMarketplaceMetering"/> over the Metering API: token problems are outcomes, records keep their identity.</summary>
public sealed class AwsMarketplaceMetering : IMarketplaceMetering
{
    private readonly MarketplaceMeteringClient _client;

    public AwsMarketplaceMetering(MarketplaceMeteringClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
    }

    public async Task<ResolveCustomerOutcome> ResolveCustomerAsync(Secret registrationToken, CancellationToken cancellationToken)
    {
        ResolveCustomerResult result;
        try
        {
            result = await _client.ResolveCustomerAsync(registrationToken, cancellationToken);
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.InvalidToken)
        {
            return new ResolveCustomerOutcome.InvalidToken();
        }
        catch (AwsServiceException e) when (e.Kind == AwsErrorKind.ExpiredToken)
        {
            return new ResolveCustomerOutcome.ExpiredToken();
        }

        if (string.IsNullOrEmpty(result.CustomerAwsAccountId) || string.IsNullOrEmpty(result.ProductCode))
        {
            throw new InvalidOperationException("ResolveCustomer answered without CustomerAWSAccountId or ProductCode.");
        }

        return new ResolveCustomerOutcome.Resolved(
            string.IsNullOrEmpty(result.CustomerIdentifier) ? null : result.CustomerIdentifier,
            result.CustomerAwsAccountId,
            result.ProductCode,
            string.IsNullOrEmpty(result.LicenseArn) ? null : result.LicenseArn);
    }

    public async Task<IReadOnlyList<MeteringRecordResult>> BatchMeterUsageAsync(
        string productCode, IReadOnlyList<MeteringRecord> records, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(productCode);
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return [];
        }

        foreach (var record in records)
        {
            if ((record.CustomerIdentifier is null) == (record.CustomerAwsAccountId is null))
            {
                throw new ArgumentException("Each record names exactly one of CustomerIdentifier or CustomerAwsAccountId.", nameof(records));
            }

            if (record.LicenseArn is not null && !LicenseArns.IsMeterable(record.LicenseArn))
            {
                // The service would refuse the whole batch, every other buyer in it with this one.
                throw new ArgumentException("A record's LicenseArn is not in the shape BatchMeterUsage accepts.", nameof(records));
            }
        }

        var wire = records.Select(ToWire).ToList();
        BatchMeterUsageResult result;
        try
        {
            result = await _client.BatchMeterUsageAsync(new BatchMeterUsageRequest(productCode, wire), cancellationToken);
        }
        catch (Exception e) when (e is AwsServiceException { Kind: AwsErrorKind.Throttled or AwsErrorKind.ServiceUnavailable } or HttpRequestException)
        {
            // Still throttled or failing after the client's retries: the records are unchanged, so a later call may succeed.
            throw new DependencyUnavailableException("aws-marketplace", "BatchMeterUsage", e);
        }

        // The service echoes each record; matching on the echo gives callers back their own instances.
        var pending = new Dictionary<UsageRecord, Queue<MeteringRecord>>();
        for (var i = 0; i < records.Count; i++)
        {
            if (!pending.TryGetValue(wire[i], out var queue))
            {
                pending[wire[i]] = queue = new Queue<MeteringRecord>();
            }

            queue.Enqueue(records[i]);
        }

        var outcomes = new List<MeteringRecordResult>(records.Count);
        foreach (var item in result.Results ?? [])
        {
            var echoed = item.UsageRecord ?? throw new InvalidOperationException("BatchMeterUsage returned a result without its UsageRecord.");
            outcomes.Add(new MeteringRecordResult(Original(pending, echoed), ParseStatus(item.Status), item.MeteringRecordId));
        }

        foreach (var unprocessed in result.UnprocessedRecords ?? [])
        {
            outcomes.Add(new MeteringRecordResult(Original(pending, unprocessed), MeteringRecordStatus.Unprocessed, null));
        }

        return outcomes;
    }

    private static UsageRecord ToWire(MeteringRecord record) =>
        new(
            DateTimeOffset.FromUnixTimeSeconds(record.Timestamp.ToUnixTimeSeconds()),
            record.Dimension,
            record.Quantity,
            record.CustomerIdentifier,
            record.CustomerAwsAccountId,
            record.LicenseArn);

    private static MeteringRecord Original(Dictionary<UsageRecord, Queue<MeteringRecord>> pending, UsageRecord echoed)
    {
        var key = echoed with { Quantity = echoed.Quantity ?? 0 };
        return pending.TryGetValue(key, out var queue) && queue.TryDequeue(out var original)
            ? original
            : new MeteringRecord(key.Timestamp, key.CustomerIdentifier, key.CustomerAwsAccountId, key.LicenseArn, key.Dimension, key.Quantity ?? 0);
    }

    private static MeteringRecordStatus ParseStatus(string? status) => status switch
    {
        "Success" => MeteringRecordStatus.Success,
        "CustomerNotSubscribed" => MeteringRecordStatus.CustomerNotSubscribed,
        "DuplicateRecord" => MeteringRecordStatus.DuplicateRecord,
        _ => throw new InvalidOperationException($"BatchMeterUsage returned an unknown record status '{status}'."),
    };
}
