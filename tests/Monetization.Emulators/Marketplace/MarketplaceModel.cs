namespace Monetization.Emulators.Marketplace;

// What the emulator holds and answers. Immutable snapshots: tests read them without racing the server.

public enum BuyerStyle
{
    /// <summary>A product listed before 2026-06-01: ResolveCustomer returns a CustomerIdentifier.</summary>
    Legacy,

    /// <summary>A newer product: no CustomerIdentifier; the buyer is its AWS account id plus the license ARN.</summary>
    NewStyle,
}

/// <summary>What to mint a registration token for. Everything left unset is made up, as a new buyer.</summary>
public sealed record MintTokenRequest
{
    public string? ProductCode { get; init; }

    public BuyerStyle Style { get; init; } = BuyerStyle.Legacy;

    /// <summary>Only for <see cref="BuyerStyle.Legacy"/>; reuse one to mint another token for the same buyer.</summary>
    public string? CustomerIdentifier { get; init; }

    public string? CustomerAwsAccountId { get; init; }

    public string? LicenseArn { get; init; }

    /// <summary>Mint a token that has already expired (ResolveCustomer answers ExpiredTokenException).</summary>
    public bool Expired { get; init; }
}

/// <summary>A minted registration token and the buyer it resolves to.</summary>
public sealed record MintedToken(
    string Token,
    string? CustomerIdentifier,
    string CustomerAwsAccountId,
    string ProductCode,
    string LicenseArn,
    DateTimeOffset ExpiresAt)
{
    public override string ToString() => $"MintedToken {{ Token = ***, CustomerIdentifier = {CustomerIdentifier}, CustomerAwsAccountId = {CustomerAwsAccountId}, ProductCode = {ProductCode} }}";
}

/// <summary>What the buyer's browser got back from the seller's landing page.</summary>
public sealed record PurchaseResult(MintedToken Buyer, int StatusCode, string Html);

/// <summary>A Marketplace subscription message as SNS carries it.</summary>
/// <param name="Action">subscribe-success, subscribe-fail, unsubscribe-pending, unsubscribe-success or entitlement-updated.</param>
public sealed record SnsNotification(
    string Action,
    string CustomerIdentifier,
    string? ProductCode = null,
    string? OfferIdentifier = null,
    DateTimeOffset? Timestamp = null,
    bool IsFreeTrialTermPresent = false);

/// <summary>An <c>aws.agreement-marketplace</c> event as EventBridge delivers it.</summary>
/// <param name="DetailType">e.g. <c>License Updated - Manufacturer</c>, <c>License Deprovisioned - Manufacturer</c>.</param>
/// <param name="LicenseArn">The buyer's license: sent only in License events (as AWS does), but every kind changes Marketplace's own view of that buyer.</param>
/// <param name="ProductCode">Sent only in License events.</param>
public sealed record AgreementEvent(
    string DetailType,
    string AcceptorAccountId,
    string LicenseArn,
    string? ProductCode = null,
    string? AgreementId = null,
    string? OfferId = null,
    DateTimeOffset? Time = null);

/// <summary>One delivery to the event sink: the payload sent and what the handler answered or threw.</summary>
public sealed record EventDelivery(string Payload, bool Delivered, string? Response, string? Error)
{
    public bool Succeeded => Delivered && Error is null;
}

/// <summary>A usage record BatchMeterUsage accepted.</summary>
public sealed record MeteredUsage(
    string MeteringRecordId,
    string ProductCode,
    string? CustomerIdentifier,
    string? CustomerAwsAccountId,
    string? LicenseArn,
    string Dimension,
    int Quantity,
    DateTimeOffset Timestamp);

/// <summary>A Metering API call as received (the registration token is never kept).</summary>
public sealed record MeteringRequest(string Operation, string? CredentialScope, int StatusCode, string? ErrorType);
