using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;

namespace Monetization.Core.Marketplace;

/// <summary>What the buyer who landed from AWS Marketplace is shown.</summary>
public abstract record LandingOutcome
{
    private LandingOutcome()
    {
    }

    /// <summary>Marketplace confirmed the subscription: the key works now.</summary>
    public sealed record Granted(string SubscriberId, Secret ApiKey) : LandingOutcome;

    /// <summary>The key exists but works only once AWS Marketplace confirms the subscription.</summary>
    public sealed record Pending(string SubscriberId, Secret ApiKey) : LandingOutcome;

    public sealed record UnknownProduct(string ProductCode) : LandingOutcome;

    public sealed record InvalidToken : LandingOutcome;

    public sealed record ExpiredToken : LandingOutcome;
}

/// <summary>
/// The buyer arrives from AWS Marketplace with a registration token: resolve it, check the product, remember that the
/// buyer registered, and hand out the buyer's one API key.
/// </summary>
/// <remarks>
/// The landing only ever sets <c>Registered</c> and fills identity fields that are still empty; subscription state
/// (<c>Subscribed</c>, <c>LastEventAt</c>) belongs to the lifecycle events, whichever of the two arrives first. Access
/// then follows the ledger through the same convergence as the events, so the key is usable right away when
/// subscribe-success came first and waits for it otherwise.
/// </remarks>
public sealed partial class MarketplaceLanding(
    IMarketplaceMetering metering,
    ISubscriberLedger ledger,
    IApiKeys apiKeys,
    MarketplaceAccess access,
    MarketplaceOptions options,
    TimeProvider timeProvider,
    ILogger<MarketplaceLanding> logger)
{
    public async Task<LandingOutcome> ExecuteAsync(Secret registrationToken, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(registrationToken);
        var resolution = await metering.ResolveCustomerAsync(registrationToken, cancellationToken);
        switch (resolution)
        {
            case ResolveCustomerOutcome.InvalidToken:
                LogRefusedToken("invalid");
                return new LandingOutcome.InvalidToken();
            case ResolveCustomerOutcome.ExpiredToken:
                LogRefusedToken("expired");
                return new LandingOutcome.ExpiredToken();
        }

        var resolved = (ResolveCustomerOutcome.Resolved)resolution;
        if (!options.Sells(resolved.ProductCode))
        {
            LogUnknownProduct(resolved.ProductCode);
            return new LandingOutcome.UnknownProduct(resolved.ProductCode);
        }

        if (!MarketplaceCustomer.TryFromResolved(resolved, out var customer, out var error))
        {
            throw new InvalidOperationException("ResolveCustomer returned no usable buyer identity: " + error);
        }

        var registered = await RegisterAsync(customer, resolved, cancellationToken);
        var converged = await access.ConvergeAsync(customer, registered, cancellationToken);
        var key = await apiKeys.GetAsync(converged.ApiKeyId, includeValue: true, cancellationToken);
        if (key?.Value is null)
        {
            throw new InvalidOperationException($"API key {converged.ApiKeyId} of {customer.SubscriberId} could not be read back with its value.");
        }

        LogLanded(customer.SubscriberId, key.Id, converged.HasAccess);
        return converged.HasAccess
            ? new LandingOutcome.Granted(customer.SubscriberId, key.Value)
            : new LandingOutcome.Pending(customer.SubscriberId, key.Value);
    }

    private async Task<Subscriber> RegisterAsync(
        MarketplaceCustomer customer, ResolveCustomerOutcome.Resolved resolved, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < MarketplaceAccess.MaxAttempts; attempt++)
        {
            var now = timeProvider.GetUtcNow();
            var current = await ledger.GetAsync(customer.SubscriberId, cancellationToken);
            if (current is null)
            {
                var created = new Subscriber
                {
                    Id = customer.SubscriberId,
                    Channel = Channel.Marketplace,
                    Status = SubscriberStatus.Pending,
                    MarketplaceCustomerIdentifier = customer.CustomerIdentifier,
                    CustomerAwsAccountId = resolved.CustomerAwsAccountId,
                    LicenseArn = resolved.LicenseArn,
                    ProductCode = resolved.ProductCode,
                    Registered = true,
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                if (await ledger.TryCreateAsync(created, cancellationToken))
                {
                    return created with { Version = 1 };
                }

                continue;
            }

            var next = current with
            {
                Registered = true,
                MarketplaceCustomerIdentifier = current.MarketplaceCustomerIdentifier ?? customer.CustomerIdentifier,
                CustomerAwsAccountId = current.CustomerAwsAccountId ?? resolved.CustomerAwsAccountId,
                LicenseArn = current.LicenseArn ?? resolved.LicenseArn,
                ProductCode = current.ProductCode ?? resolved.ProductCode,
            };
            if (next == current)
            {
                return current;
            }

            next = next with { UpdatedAt = now };
            if (await ledger.TryReplaceAsync(next, current.Version, cancellationToken))
            {
                return next with { Version = current.Version + 1 };
            }
        }

        throw new InvalidOperationException($"Subscriber {customer.SubscriberId} kept changing; the landing was not recorded after {MarketplaceAccess.MaxAttempts} attempts.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace registration token refused as {Reason}")]
    private partial void LogRefusedToken(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace landing for product {ProductCode}, which is not one we sell")]
    private partial void LogUnknownProduct(string productCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace buyer {SubscriberId} landed with API key {ApiKeyId}; access granted: {HasAccess}")]
    private partial void LogLanded(string subscriberId, string apiKeyId, bool hasAccess);
}
