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
    /// <param name="ApiKeyOnce">The key's value the one time it is shown (<see cref="Accounts.KeyReveal"/>), else null.</param>
    /// <param name="ApiKeyHint">The last characters of the key's value, by which it is named once shown.</param>
    public sealed record Granted(string SubscriberId, Secret? ApiKeyOnce, string? ApiKeyHint) : LandingOutcome;

    /// <summary>The key exists but works only once AWS Marketplace confirms the subscription.</summary>
    /// <param name="ApiKeyOnce">The key's value the one time it is shown, else null.</param>
    /// <param name="ApiKeyHint">The last characters of the key's value, by which it is named once shown.</param>
    public sealed record Pending(string SubscriberId, Secret? ApiKeyOnce, string? ApiKeyHint) : LandingOutcome;

    /// <summary>
    /// The buyer's key is being made (<see cref="ApiKeys.IKeyMintQueue"/>): the account page shows it once it is, and
    /// whether it works yet.
    /// </summary>
    public sealed record Activating(string SubscriberId) : LandingOutcome;

    /// <summary>
    /// AWS Marketplace reported the subscription ended (unsubscribed) or failed. No key is shown: it works for nothing,
    /// and a secret is only handed out when it is of use; should the buyer subscribe again, the same key works again.
    /// </summary>
    public sealed record Ended(string SubscriberId) : LandingOutcome;

    public sealed record UnknownProduct(string ProductCode) : LandingOutcome;

    public sealed record InvalidToken : LandingOutcome;

    public sealed record ExpiredToken : LandingOutcome;
}

/// <summary>
/// The buyer arrives from AWS Marketplace with a registration token: resolve it, check the product, remember that the
/// buyer registered (linking the buyer's two names when AWS gives both), and make sure the buyer's one API key exists or
/// is being made by the key minting queue (then the buyer waits on the account page); its value is shown the first time
/// only (<see cref="Accounts.KeyReveal"/>), and later landings name it by its last characters and send the buyer to the
/// account page, where a lost key is rotated.
/// </summary>
/// <remarks>
/// The landing only ever sets <c>Registered</c> and fills identity fields that are still empty, except that the license
/// ARN ResolveCustomer gives replaces a recorded one Metering would refuse (<see cref="LicenseArns"/>); subscription state
/// (<c>Subscribed</c>, <c>LastEventAt</c>) belongs to the lifecycle events, whichever of the two arrives first. Access
/// then follows the ledger through the same convergence as the events, so the key is usable right away when
/// subscribe-success came first and waits for it otherwise.
/// </remarks>
public sealed partial class MarketplaceLanding(
    IMarketplaceMetering metering,
    ISubscriberLedger ledger,
    MarketplaceIdentity identity,
    MarketplaceAccess access,
    RequestKey keys,
    Accounts.KeyReveal reveal,
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
        var productCode = resolved.ProductCode?.Trim() ?? string.Empty;
        if (!options.Sells(productCode))
        {
            LogUnknownProduct(productCode);
            return new LandingOutcome.UnknownProduct(productCode);
        }

        if (!MarketplaceCustomer.TryFromResolved(resolved, out var customer, out var error))
        {
            throw new InvalidOperationException("ResolveCustomer returned no usable buyer identity: " + error);
        }

        if (customer.LicenseSubscriberId is not null)
        {
            await identity.LinkAsync(customer, cancellationToken);
        }

        var registered = await RegisterAsync(customer, resolved.CustomerAwsAccountId?.Trim(), productCode, cancellationToken);
        var converged = await access.ConvergeAsync(registered, keys, cancellationToken);
        if (converged.Subscriber.Status is SubscriberStatus.Cancelled or SubscriberStatus.Failed)
        {
            LogEnded(customer.SubscriberId, converged.Subscriber.Status);
            return new LandingOutcome.Ended(customer.SubscriberId);
        }

        if (converged.Key is not { } key)
        {
            LogActivating(customer.SubscriberId);
            return new LandingOutcome.Activating(customer.SubscriberId);
        }

        var (shown, value) = await reveal.ShowOnceAsync(converged.Subscriber, cancellationToken);
        LogLanded(customer.SubscriberId, key.Id, converged.HasAccess);
        return converged.HasAccess
            ? new LandingOutcome.Granted(customer.SubscriberId, value, shown.ApiKeyHint)
            : new LandingOutcome.Pending(customer.SubscriberId, value, shown.ApiKeyHint);
    }

    private async Task<Subscriber> RegisterAsync(
        MarketplaceCustomer customer, string? customerAwsAccountId, string productCode, CancellationToken cancellationToken)
    {
        var update = await ledger.UpdateAsync(
            customer.SubscriberId,
            current =>
            {
                var now = timeProvider.GetUtcNow();
                var baseline = current ?? new Subscriber
                {
                    Id = customer.SubscriberId,
                    Channel = Channel.Marketplace,
                    Status = SubscriberStatus.Pending,
                    CreatedAt = now,
                    UpdatedAt = now,
                };
                var next = baseline with
                {
                    Registered = true,
                    MarketplaceCustomerIdentifier = baseline.MarketplaceCustomerIdentifier ?? customer.CustomerIdentifier,
                    CustomerAwsAccountId = baseline.CustomerAwsAccountId ?? customer.CustomerAwsAccountId ?? customerAwsAccountId,
                    LicenseArn = LicenseArns.Keep(baseline.LicenseArn, customer.LicenseArn),
                    ProductCode = baseline.ProductCode ?? productCode,
                };
                return next == current ? null : next with { UpdatedAt = now };
            },
            known: null,
            cancellationToken);
        return update.Stored!;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace registration token refused as {Reason}")]
    private partial void LogRefusedToken(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Marketplace landing for product {ProductCode}, which is not one we sell")]
    private partial void LogUnknownProduct(string productCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace buyer {SubscriberId} landed with API key {ApiKeyId}; access granted: {HasAccess}")]
    private partial void LogLanded(string subscriberId, string apiKeyId, bool hasAccess);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace buyer {SubscriberId} landed; their API key is being made")]
    private partial void LogActivating(string subscriberId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Marketplace buyer {SubscriberId} landed, but the subscription is {Status}")]
    private partial void LogEnded(string subscriberId, SubscriberStatus status);
}
