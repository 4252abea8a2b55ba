using System.Globalization;
using Amazon.DynamoDBv2.Model;
using Monetization.Core.Ledger;

namespace Monetization.Aws.Ledger;

/// <summary>
/// The one place that knows how a <see cref="Subscriber"/> and its alias pointers are laid out in the ledger table.
/// Absent values are absent attributes (never NULL), enums are their names, timestamps are round-trip ISO-8601 text
/// so the offset and every tick survive.
/// </summary>
internal static class SubscriberItem
{
    public const string SubscriberPrefix = "SUB#";
    public const string AliasPrefix = "ALIAS#";
    public const string StripeSubscriptionPrefix = "STRIPESUB#";

    /// <summary>Pointer from an API key id to the subscriber holding that key (read by the usage reporter).</summary>
    public const string ApiKeyPrefix = "APIKEY#";

    public const string SubscriberId = "subscriberId";
    public const string Version = "version";

    private const string Channel = "channel";
    private const string Status = "status";
    private const string ApiKeyId = "apiKeyId";
    private const string UsagePlanId = "usagePlanId";
    private const string Email = "email";
    private const string FirstName = "firstName";
    private const string LastName = "lastName";
    private const string StripeCustomerId = "stripeCustomerId";
    private const string StripeSubscriptionId = "stripeSubscriptionId";
    private const string MarketplaceCustomerIdentifier = "marketplaceCustomerIdentifier";
    private const string CustomerAwsAccountId = "customerAwsAccountId";
    private const string ProductCode = "productCode";
    private const string LicenseArn = "licenseArn";
    private const string Registered = "registered";
    private const string Subscribed = "subscribed";
    private const string FreePlan = "freePlan";
    private const string QuotaAlertMonth = "quotaAlertMonth";
    private const string QuotaAlertPercent = "quotaAlertPercent";
    private const string SpendCap = "spendCap";
    private const string CapReachedAt = "capReachedAt";
    private const string CapMailedAt = "capMailedAt";
    private const string PeriodStart = "periodStart";
    private const string PeriodEnd = "periodEnd";
    private const string FreeSince = "freeSince";
    private const string FreeUsedMonth = "freeUsedMonth";
    private const string IdleCheckAt = "idleCheckAt";
    private const string IdleNoticeAt = "idleNoticeAt";
    private const string LastEventAt = "lastEventAt";
    private const string LastEvent = "lastEvent";
    private const string LastNoticeAt = "lastNoticeAt";
    private const string LastNotice = "lastNotice";
    private const string CreatedAt = "createdAt";
    private const string UpdatedAt = "updatedAt";
    private const string MergedInto = "mergedInto";
    private const string ShownApiKeyId = "shownApiKeyId";
    private const string ApiKeyHint = "apiKeyHint";
    private const string PastDueSince = "pastDueSince";
    private const string EndRequestedAt = "endRequestedAt";
    private const string SettlingSince = "keySettlingSince";
    private const string KeyDeleteAt = "keyDeleteAt";
    private const string KeyRequestedAt = "keyRequestedAt";
    private const string KeyRefusedAt = "keyRefusedAt";
    private const string RetiredKeys = "retiredKeys";
    private const string RetiredKeyId = "id";
    private const string RetiredRevokeAt = "revokeAt";
    private const string RetiredDisabledAt = "disabledAt";
    private const string DeletedKeys = "deletedKeys";
    private const string DeletedAt = "deletedAt";

    public static Dictionary<string, AttributeValue> Key(string subscriberId) => PartitionKey(SubscriberPrefix + subscriberId);

    public static Dictionary<string, AttributeValue> PartitionKey(string pk) =>
        new() { [LedgerTable.PartitionKey] = new AttributeValue { S = pk } };

    public static Dictionary<string, AttributeValue> ToItem(Subscriber subscriber, long version)
    {
        var item = Key(subscriber.Id);
        item[SubscriberId] = Text(subscriber.Id);
        item[Channel] = Text(subscriber.Channel.ToString());
        item[Status] = Text(subscriber.Status.ToString());
        AddIfSet(item, ApiKeyId, subscriber.ApiKeyId);
        AddIfSet(item, UsagePlanId, subscriber.UsagePlanId);
        AddIfSet(item, Email, subscriber.Email);
        AddIfSet(item, FirstName, subscriber.FirstName);
        AddIfSet(item, LastName, subscriber.LastName);
        AddIfSet(item, StripeCustomerId, subscriber.StripeCustomerId);
        AddIfSet(item, StripeSubscriptionId, subscriber.StripeSubscriptionId);
        AddIfSet(item, MarketplaceCustomerIdentifier, subscriber.MarketplaceCustomerIdentifier);
        AddIfSet(item, CustomerAwsAccountId, subscriber.CustomerAwsAccountId);
        AddIfSet(item, ProductCode, subscriber.ProductCode);
        AddIfSet(item, LicenseArn, subscriber.LicenseArn);
        item[Registered] = new AttributeValue { BOOL = subscriber.Registered };
        item[Subscribed] = new AttributeValue { BOOL = subscriber.Subscribed };
        if (subscriber.FreePlan)
        {
            item[FreePlan] = new AttributeValue { BOOL = true };
        }

        AddIfSet(item, QuotaAlertMonth, subscriber.QuotaAlertMonth);
        if (subscriber.QuotaAlertPercent != 0)
        {
            item[QuotaAlertPercent] = new AttributeValue { N = subscriber.QuotaAlertPercent.ToString(CultureInfo.InvariantCulture) };
        }

        if (subscriber.SpendCap is { } spendCap)
        {
            item[SpendCap] = Number(spendCap);
        }

        AddTimestampIfSet(item, CapReachedAt, subscriber.CapReachedAt);
        AddTimestampIfSet(item, CapMailedAt, subscriber.CapMailedAt);
        AddTimestampIfSet(item, PeriodStart, subscriber.PeriodStart);
        AddTimestampIfSet(item, PeriodEnd, subscriber.PeriodEnd);
        AddTimestampIfSet(item, FreeSince, subscriber.FreeSince);
        AddIfSet(item, FreeUsedMonth, subscriber.FreeUsedMonth);
        AddTimestampIfSet(item, IdleCheckAt, subscriber.IdleCheckAt);
        AddTimestampIfSet(item, IdleNoticeAt, subscriber.IdleNoticeAt);
        if (subscriber.LastEventAt is { } lastEventAt)
        {
            item[LastEventAt] = Timestamp(lastEventAt);
        }

        AddIfSet(item, LastEvent, subscriber.LastEvent);
        if (subscriber.LastNoticeAt is { } lastNoticeAt)
        {
            item[LastNoticeAt] = Timestamp(lastNoticeAt);
        }

        AddIfSet(item, LastNotice, subscriber.LastNotice);
        AddIfSet(item, MergedInto, subscriber.MergedInto);
        AddIfSet(item, ShownApiKeyId, subscriber.ShownApiKeyId);
        AddIfSet(item, ApiKeyHint, subscriber.ApiKeyHint);
        if (subscriber.PastDueSince is { } pastDueSince)
        {
            item[PastDueSince] = Timestamp(pastDueSince);
        }

        if (subscriber.SettlingSince is { } settlingSince)
        {
            item[SettlingSince] = Timestamp(settlingSince);
        }

        if (subscriber.KeyDeleteAt is { } keyDeleteAt)
        {
            item[KeyDeleteAt] = Timestamp(keyDeleteAt);
        }

        if (subscriber.KeyRequestedAt is { } keyRequestedAt)
        {
            item[KeyRequestedAt] = Timestamp(keyRequestedAt);
        }

        if (subscriber.KeyRefusedAt is { } keyRefusedAt)
        {
            item[KeyRefusedAt] = Timestamp(keyRefusedAt);
        }

        if (subscriber.DeletedKeys.Count > 0)
        {
            item[DeletedKeys] = new AttributeValue
            {
                L = [.. subscriber.DeletedKeys.Select(k => new AttributeValue { M = new() { [RetiredKeyId] = Text(k.Id), [DeletedAt] = Timestamp(k.DeletedAt) } })],
            };
        }

        if (subscriber.RetiredKeys.Count > 0)
        {
            item[RetiredKeys] = new AttributeValue { L = [.. subscriber.RetiredKeys.Select(ToItem)] };
        }

        if (subscriber.KeyStepsFrom is { } stepsFrom && !string.IsNullOrEmpty(subscriber.UsagePlanId))
        {
            // Only a record with a key step ahead (settling, retiring, to be deleted) carries the index's keys, so the
            // index holds exactly those.
            item[LedgerTable.SettlingPlanAttribute] = Text(subscriber.UsagePlanId);
            item[LedgerTable.SettlingSinceAttribute] = Text(SortableTimestamp(stepsFrom));
        }

        if (subscriber.EndRequestedAt is { } endRequestedAt)
        {
            item[EndRequestedAt] = Timestamp(endRequestedAt);
        }

        item[CreatedAt] = Timestamp(subscriber.CreatedAt);
        item[UpdatedAt] = Timestamp(subscriber.UpdatedAt);
        item[Version] = Number(version);
        return item;
    }

    public static Subscriber FromItem(Dictionary<string, AttributeValue> item) => new()
    {
        Id = item[SubscriberId].S,
        Channel = Enum.Parse<Channel>(item[Channel].S),
        Status = Enum.Parse<SubscriberStatus>(item[Status].S),
        ApiKeyId = Optional(item, ApiKeyId),
        ShownApiKeyId = Optional(item, ShownApiKeyId),
        ApiKeyHint = Optional(item, ApiKeyHint),
        UsagePlanId = Optional(item, UsagePlanId),
        Email = Optional(item, Email),
        FirstName = Optional(item, FirstName),
        LastName = Optional(item, LastName),
        StripeCustomerId = Optional(item, StripeCustomerId),
        StripeSubscriptionId = Optional(item, StripeSubscriptionId),
        MarketplaceCustomerIdentifier = Optional(item, MarketplaceCustomerIdentifier),
        CustomerAwsAccountId = Optional(item, CustomerAwsAccountId),
        ProductCode = Optional(item, ProductCode),
        LicenseArn = Optional(item, LicenseArn),
        Registered = item.TryGetValue(Registered, out var registered) && registered.BOOL == true,
        Subscribed = item.TryGetValue(Subscribed, out var subscribed) && subscribed.BOOL == true,
        FreePlan = item.TryGetValue(FreePlan, out var freePlan) && freePlan.BOOL == true,
        QuotaAlertMonth = Optional(item, QuotaAlertMonth),
        QuotaAlertPercent = item.TryGetValue(QuotaAlertPercent, out var quotaAlertPercent) ? int.Parse(quotaAlertPercent.N, CultureInfo.InvariantCulture) : 0,
        SpendCap = item.TryGetValue(SpendCap, out var spendCap) ? long.Parse(spendCap.N, CultureInfo.InvariantCulture) : null,
        CapReachedAt = OptionalTimestamp(item, CapReachedAt),
        CapMailedAt = OptionalTimestamp(item, CapMailedAt),
        PeriodStart = OptionalTimestamp(item, PeriodStart),
        PeriodEnd = OptionalTimestamp(item, PeriodEnd),
        FreeSince = OptionalTimestamp(item, FreeSince),
        FreeUsedMonth = Optional(item, FreeUsedMonth),
        IdleCheckAt = OptionalTimestamp(item, IdleCheckAt),
        IdleNoticeAt = OptionalTimestamp(item, IdleNoticeAt),
        LastEventAt = Optional(item, LastEventAt) is { } lastEventAt ? ParseTimestamp(lastEventAt) : null,
        LastEvent = Optional(item, LastEvent),
        LastNoticeAt = Optional(item, LastNoticeAt) is { } lastNoticeAt ? ParseTimestamp(lastNoticeAt) : null,
        LastNotice = Optional(item, LastNotice),
        MergedInto = Optional(item, MergedInto),
        PastDueSince = Optional(item, PastDueSince) is { } pastDueSince ? ParseTimestamp(pastDueSince) : null,
        SettlingSince = Optional(item, SettlingSince) is { } settlingSince ? ParseTimestamp(settlingSince) : null,
        KeyDeleteAt = Optional(item, KeyDeleteAt) is { } keyDeleteAt ? ParseTimestamp(keyDeleteAt) : null,
        KeyRequestedAt = Optional(item, KeyRequestedAt) is { } keyRequestedAt ? ParseTimestamp(keyRequestedAt) : null,
        KeyRefusedAt = Optional(item, KeyRefusedAt) is { } keyRefusedAt ? ParseTimestamp(keyRefusedAt) : null,
        RetiredKeys = item.TryGetValue(RetiredKeys, out var retired) && retired.L is { Count: > 0 } list ? [.. list.Select(FromItem)] : [],
        DeletedKeys = item.TryGetValue(DeletedKeys, out var deleted) && deleted.L is { Count: > 0 } gone
            ? [.. gone.Select(k => new DeletedKey(k.M[RetiredKeyId].S, ParseTimestamp(k.M[DeletedAt].S)))]
            : [],
        EndRequestedAt = Optional(item, EndRequestedAt) is { } endRequestedAt ? ParseTimestamp(endRequestedAt) : null,
        CreatedAt = ParseTimestamp(item[CreatedAt].S),
        UpdatedAt = ParseTimestamp(item[UpdatedAt].S),
        Version = long.Parse(item[Version].N, CultureInfo.InvariantCulture),
    };

    private static AttributeValue ToItem(RetiredKey key)
    {
        var map = new Dictionary<string, AttributeValue> { [RetiredKeyId] = Text(key.Id), [RetiredRevokeAt] = Timestamp(key.RevokeAt) };
        if (key.DisabledAt is { } disabledAt)
        {
            map[RetiredDisabledAt] = Timestamp(disabledAt);
        }

        return new AttributeValue { M = map };
    }

    private static RetiredKey FromItem(AttributeValue value) => new(
        value.M[RetiredKeyId].S,
        ParseTimestamp(value.M[RetiredRevokeAt].S),
        Optional(value.M, RetiredDisabledAt) is { } disabledAt ? ParseTimestamp(disabledAt) : null);

    public static Dictionary<string, AttributeValue> Pointer(string pk, string subscriberId)
    {
        var item = PartitionKey(pk);
        item[SubscriberId] = Text(subscriberId);
        return item;
    }

    /// <summary>The subscriber id a pointer item holds, or null when there is no such item.</summary>
    public static string? PointerTarget(Dictionary<string, AttributeValue>? item) =>
        item is { Count: > 0 } && item.TryGetValue(SubscriberId, out var id) ? id.S : null;

    public static AttributeValue Text(string value) => new() { S = value };

    public static AttributeValue Number(long value) => new() { N = value.ToString(CultureInfo.InvariantCulture) };

    private static void AddIfSet(Dictionary<string, AttributeValue> item, string name, string? value)
    {
        // DynamoDB stores empty strings, but an empty id means "not set" everywhere in the core; keep one spelling of absent.
        if (!string.IsNullOrEmpty(value))
        {
            item[name] = Text(value);
        }
    }

    private static string? Optional(Dictionary<string, AttributeValue> item, string name) =>
        item.TryGetValue(name, out var value) ? value.S : null;

    private static void AddTimestampIfSet(Dictionary<string, AttributeValue> item, string name, DateTimeOffset? value)
    {
        if (value is { } set)
        {
            item[name] = Timestamp(set);
        }
    }

    private static DateTimeOffset? OptionalTimestamp(Dictionary<string, AttributeValue> item, string name) =>
        Optional(item, name) is { } value ? ParseTimestamp(value) : null;

    private static AttributeValue Timestamp(DateTimeOffset value) => Text(value.ToString("O", CultureInfo.InvariantCulture));

    /// <summary>UTC with a fixed width, so text order is time order (the settling index's range key).</summary>
    public static string SortableTimestamp(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTimestamp(string value) =>
        DateTimeOffset.ParseExact(value, "O", CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
