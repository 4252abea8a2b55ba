using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

/// <summary>
/// The emulated Stripe account: resources and the v1 operations the project uses, strict about parameters the way
/// Stripe is. One lock guards the whole account; every operation is short and in memory.
/// </summary>
internal sealed partial class StripeApi
{
    private const string Invalid = "invalid_request_error";

    private static readonly TimeSpan MeterEventMaxAge = TimeSpan.FromDays(35);
    private static readonly TimeSpan MeterEventMaxAhead = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan IdentifierWindow = TimeSpan.FromHours(24);

    private readonly Lock _lock = new();
    private readonly List<EmulatedCustomer> _customers = [];
    private readonly List<EmulatedProduct> _products = [];
    private readonly List<EmulatedMeter> _meters = [];
    private readonly List<EmulatedPrice> _prices = [];
    private readonly List<EmulatedSubscription> _subscriptions = [];
    private readonly List<EmulatedMeterEvent> _meterEvents = [];

    // Indexes, so an account with a hundred thousand customers and events still answers in microseconds.
    private readonly Dictionary<string, EmulatedCustomer> _customerById = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _identifierCreated = new(StringComparer.Ordinal);

    public IReadOnlyList<EmulatedCustomer> Customers => Snapshot(_customers);

    public IReadOnlyList<EmulatedProduct> Products => Snapshot(_products);

    public IReadOnlyList<EmulatedMeter> Meters => Snapshot(_meters);

    public IReadOnlyList<EmulatedPrice> Prices => Snapshot(_prices);

    public IReadOnlyList<EmulatedSubscription> Subscriptions => Snapshot(_subscriptions);

    public IReadOnlyList<EmulatedMeterEvent> MeterEvents => Snapshot(_meterEvents);

    public static string NewId(string prefix, int length = 14)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return prefix + RandomNumberGenerator.GetString(alphabet, length);
    }

    /// <returns>The answer, or <c>null</c> when no operation has this method and path.</returns>
    public JsonObject? Dispatch(string method, string[] path, StripeParams p, DateTimeOffset now)
    {
        lock (_lock)
        {
            return (method, path) switch
            {
                ("POST", ["v1", "customers"]) => CreateCustomer(p, now),
                ("GET", ["v1", "customers"]) => ListCustomers(p),
                ("GET", ["v1", "customers", var id]) => Retrieve(p, () => StripeJson.Customer(FindCustomer(id))),
                ("POST", ["v1", "customers", var id]) => UpdateCustomer(id, p),
                ("POST", ["v1", "products"]) => CreateProduct(p, now),
                ("GET", ["v1", "products", var id]) => Retrieve(p, () => StripeJson.Product(Find(_products, id, "product", "id", 404, x => x.Id))),
                ("POST", ["v1", "billing", "meters"]) => CreateMeter(p, now),
                ("GET", ["v1", "billing", "meters"]) => ListMeters(p),
                ("GET", ["v1", "billing", "meters", var id]) => Retrieve(p, () => StripeJson.Meter(Find(_meters, id, "billing.meter", "id", 404, x => x.Id))),
                ("GET", ["v1", "billing", "meters", var id, "event_summaries"]) => EventSummaries(id, p),
                ("POST", ["v1", "prices"]) => CreatePrice(p, now),
                ("GET", ["v1", "prices", var id]) => Retrieve(p, () => StripeJson.Price(Find(_prices, id, "price", "id", 404, x => x.Id))),
                ("POST", ["v1", "subscriptions"]) => CreateSubscription(p, now),
                ("GET", ["v1", "subscriptions"]) => ListSubscriptions(p),
                ("GET", ["v1", "subscriptions", var id]) => Retrieve(p, () => Render(FindSubscription(id, 404))),
                ("DELETE", ["v1", "subscriptions", var id]) => CancelSubscription(id, p, now),
                ("POST", ["v1", "billing", "meter_events"]) => CreateMeterEvent(p, now),
                ("POST", ["v1", "checkout", "sessions"]) => CreateCheckoutSession(p, now),
                ("GET", ["v1", "checkout", "sessions"]) => ListCheckoutSessions(p, now),
                ("GET", ["v1", "checkout", "sessions", var id]) => Retrieve(p, () => StripeJson.CheckoutSession(FindCheckoutSession(id, now, 404))),
                ("POST", ["v1", "checkout", "sessions", var id, "expire"]) => ExpireCheckoutSession(id, p, now),
                ("POST", ["v1", "billing_portal", "sessions"]) => CreateBillingPortalSession(p, now),
                (_, ["v1", "webhook_endpoints", ..]) => DispatchWebhookEndpoints(method, path, p, now),
                (_, ["v1", "invoiceitems" or "invoices", ..]) => DispatchInvoicing(method, path, p, now),
                _ => null,
            };
        }
    }

    /// <summary>
    /// The test-side status switch; Stripe itself moves these states as invoices are paid or not. A subscription that
    /// ended (<c>canceled</c>, <c>incomplete_expired</c>) stays as it is: Stripe never reactivates one, a returning
    /// customer gets a new subscription. Setting the same ended status again changes nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">The subscription has ended and <paramref name="status"/> is another status.</exception>
    public (EmulatedSubscription Before, EmulatedSubscription After, JsonObject Json) SetSubscriptionStatus(string id, string status, DateTimeOffset now)
    {
        lock (_lock)
        {
            var before = FindSubscription(id, 404);
            if (IsEnded(before.Status) && status != before.Status)
            {
                throw new InvalidOperationException(
                    $"Subscription {id} is {before.Status}, which is final at Stripe: it cannot become {status}. "
                    + "A returning customer needs a new subscription (a new checkout).");
            }

            var at = now.ToUnixTimeSeconds();
            var after = before with
            {
                Status = status,
                CanceledAt = status == "canceled" ? before.CanceledAt ?? at : before.CanceledAt,
                EndedAt = IsEnded(status) ? before.EndedAt ?? at : before.EndedAt,
            };
            Replace(_subscriptions, before, after);
            return (before, after, Render(after));
        }
    }

    public JsonObject SubscriptionJson(string id)
    {
        lock (_lock)
        {
            return Render(FindSubscription(id, 404));
        }
    }

    private JsonObject CreateCustomer(StripeParams p, DateTimeOffset now)
    {
        var email = p.Optional("email");
        var name = p.Optional("name");
        var description = p.Optional("description");
        var phone = p.Optional("phone");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");
        var customer = new EmulatedCustomer(NewId("cus_"), now.ToUnixTimeSeconds(), email, name, description, phone, metadata.ApplyTo(Empty));
        _customers.Add(customer);
        _customerById[customer.Id] = customer;
        return StripeJson.Customer(customer);
    }

    private JsonObject UpdateCustomer(string id, StripeParams p)
    {
        var email = p.Optional("email");
        var name = p.Optional("name");
        var description = p.Optional("description");
        var phone = p.Optional("phone");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");
        var before = FindCustomer(id);
        var after = before with
        {
            Email = email ?? before.Email,
            Name = name ?? before.Name,
            Description = description ?? before.Description,
            Phone = phone ?? before.Phone,
            Metadata = metadata.ApplyTo(before.Metadata),
        };
        Replace(_customers, before, after);
        _customerById[after.Id] = after;
        return StripeJson.Customer(after);
    }

    private JsonObject ListCustomers(StripeParams p)
    {
        var email = p.Optional("email");
        var page = Page.Read(p);
        p.RejectUnknown();
        if (email is { Length: > 512 })
        {
            throw StripeApiException.Invalid("email", "Invalid email: must be at most 512 characters");
        }

        // Stripe's email filter is exact and case-sensitive.
        var matches = _customers.Where(c => email is null || string.Equals(c.Email, email, StringComparison.Ordinal));
        return page.Apply(matches, c => c.Id, StripeJson.Customer, "/v1/customers");
    }

    private JsonObject CreateProduct(StripeParams p, DateTimeOffset now)
    {
        var name = p.Required("name");
        var description = p.Optional("description");
        var active = p.OptionalBoolean("active");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");
        var product = new EmulatedProduct(NewId("prod_"), now.ToUnixTimeSeconds(), name, description, active ?? true, metadata.ApplyTo(Empty));
        _products.Add(product);
        return StripeJson.Product(product);
    }

    private JsonObject CreateMeter(StripeParams p, DateTimeOffset now)
    {
        var displayName = p.Required("display_name");
        var eventName = p.Required("event_name");
        var formula = p.OneOf("default_aggregation[formula]", "sum", "count", "last") ?? throw StripeApiException.Missing("default_aggregation[formula]");
        var mappingType = p.OneOf("customer_mapping[type]", "by_id");
        var mappingKey = p.Optional("customer_mapping[event_payload_key]");
        var valueKey = p.Optional("value_settings[event_payload_key]");
        var window = p.OneOf("event_time_window", "day", "hour");
        p.RejectUnknown();
        if (mappingType is not null && mappingKey is null)
        {
            throw StripeApiException.Missing("customer_mapping[event_payload_key]");
        }

        if (mappingKey is not null && mappingType is null)
        {
            throw StripeApiException.Missing("customer_mapping[type]");
        }

        if (eventName.Length > 100)
        {
            throw StripeApiException.Invalid("event_name", "Invalid event_name: must be at most 100 characters");
        }

        if (_meters.Any(m => m.EventName == eventName))
        {
            throw new StripeApiException(400, Invalid, $"An active meter with event_name `{eventName}` already exists.", param: "event_name");
        }

        var meter = new EmulatedMeter(NewId("mtr_", 24), now.ToUnixTimeSeconds(), displayName, eventName, formula, mappingKey ?? "stripe_customer_id", valueKey ?? "value", window);
        _meters.Add(meter);
        return StripeJson.Meter(meter);
    }

    private JsonObject CreatePrice(StripeParams p, DateTimeOffset now)
    {
        var currency = p.Required("currency");
        var productId = p.Required("product");
        var unitAmount = p.OptionalInteger("unit_amount");
        var unitAmountDecimal = p.Optional("unit_amount_decimal");
        var billingScheme = p.OneOf("billing_scheme", "per_unit", "tiered") ?? "per_unit";
        var tiersMode = p.OneOf("tiers_mode", "graduated", "volume");
        var tiers = Tiers(p);
        var interval = p.OneOf("recurring[interval]", "day", "week", "month", "year");
        var intervalCount = p.OptionalInteger("recurring[interval_count]");
        var usageType = p.OneOf("recurring[usage_type]", "licensed", "metered");
        var meterId = p.Optional("recurring[meter]");
        var nickname = p.Optional("nickname");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");

        if (currency.Length != 3 || !currency.All(char.IsAsciiLetterLower))
        {
            throw StripeApiException.Invalid("currency", $"Invalid currency: {currency}. Stripe currently supports these currencies: usd, eur, gbp, ...");
        }

        if (unitAmount is not null && unitAmountDecimal is not null)
        {
            throw new StripeApiException(400, Invalid, "You may only specify one of these parameters: unit_amount, unit_amount_decimal.", "parameter_unknown", "unit_amount_decimal", remembered: false);
        }

        if (billingScheme == "tiered")
        {
            if (unitAmount is not null || unitAmountDecimal is not null)
            {
                throw StripeApiException.Invalid(unitAmount is null ? "unit_amount_decimal" : "unit_amount", "A price with billing_scheme=tiered takes its amounts from tiers, not unit_amount.");
            }

            if (tiersMode is null)
            {
                throw StripeApiException.Missing("tiers_mode");
            }

            if (tiers.Count == 0)
            {
                throw StripeApiException.Missing("tiers");
            }
        }
        else
        {
            if (tiersMode is not null || tiers.Count > 0)
            {
                throw StripeApiException.Invalid(tiersMode is null ? "tiers" : "tiers_mode", "Tiers can only be set on a price with billing_scheme=tiered.");
            }

            if (unitAmount is null && unitAmountDecimal is null)
            {
                throw StripeApiException.Missing("unit_amount");
            }
        }

        if (unitAmount is < 0)
        {
            throw StripeApiException.Invalid("unit_amount", "This value must be greater than or equal to 0.", "parameter_invalid_integer");
        }

        if (unitAmountDecimal is not null && !decimal.TryParse(unitAmountDecimal, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _))
        {
            throw StripeApiException.Invalid("unit_amount_decimal", $"Invalid decimal: {unitAmountDecimal}");
        }

        var recurring = interval is not null || intervalCount is not null || usageType is not null || meterId is not null;
        if (recurring && interval is null)
        {
            throw StripeApiException.Missing("recurring[interval]");
        }

        if (usageType == "metered" && meterId is null)
        {
            // Since 2025-03-31.basil a metered price has to be backed by a billing meter.
            throw StripeApiException.Missing("recurring[meter]");
        }

        if (meterId is not null && usageType != "metered")
        {
            throw StripeApiException.Invalid("recurring[meter]", "A meter can only be set on a price with recurring[usage_type]=metered.");
        }

        Find(_products, productId, "product", "product", 400, x => x.Id);
        if (meterId is not null)
        {
            Find(_meters, meterId, "billing.meter", "recurring[meter]", 400, x => x.Id);
        }

        var price = new EmulatedPrice(
            NewId("price_", 24),
            now.ToUnixTimeSeconds(),
            productId,
            currency,
            unitAmount,
            billingScheme == "tiered" ? null : unitAmountDecimal ?? unitAmount!.Value.ToString(CultureInfo.InvariantCulture),
            interval,
            intervalCount ?? (interval is null ? 0 : 1),
            interval is null ? null : usageType ?? "licensed",
            meterId,
            nickname,
            metadata.ApplyTo(Empty),
            billingScheme,
            tiersMode,
            tiers.Count == 0 ? null : tiers);
        _prices.Add(price);
        return StripeJson.Price(price);
    }

    /// <summary><c>tiers[i][up_to]</c> (a count, or <c>inf</c> for the last tier) with a unit and a flat amount each.</summary>
    private static List<EmulatedPriceTier> Tiers(StripeParams p)
    {
        var tiers = new List<EmulatedPriceTier>();
        foreach (var i in p.Indices("tiers"))
        {
            var upTo = p.Required($"tiers[{i}][up_to]");
            var unit = TierAmount(p, i, "unit_amount");
            var flat = TierAmount(p, i, "flat_amount");
            if (unit is null && flat is null)
            {
                throw StripeApiException.Missing($"tiers[{i}][unit_amount]");
            }

            long? limit = upTo == "inf"
                ? null
                : long.TryParse(upTo, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
                    ? n
                    : throw StripeApiException.Invalid($"tiers[{i}][up_to]", $"Invalid up_to: {upTo}. It must be a positive integer or `inf`.");
            if (tiers.Count > 0 && (tiers[^1].UpTo is not { } previous || limit <= previous))
            {
                throw StripeApiException.Invalid($"tiers[{i}][up_to]", "Tiers must be in ascending order of up_to, and only the last one may be `inf`.");
            }

            tiers.Add(new EmulatedPriceTier(limit, unit ?? 0, flat ?? 0));
        }

        return tiers.Count == 0 || tiers[^1].UpTo is null
            ? tiers
            : throw StripeApiException.Invalid($"tiers[{tiers.Count - 1}][up_to]", "The last tier must have up_to=inf.");
    }

    /// <summary>A tier's <c>{name}</c> or <c>{name}_decimal</c>, at most one of them.</summary>
    private static decimal? TierAmount(StripeParams p, int index, string name)
    {
        var whole = p.OptionalInteger($"tiers[{index}][{name}]");
        var fraction = p.Optional($"tiers[{index}][{name}_decimal]");
        if (whole is not null && fraction is not null)
        {
            throw StripeApiException.Invalid($"tiers[{index}][{name}_decimal]", $"You may only specify one of these parameters: {name}, {name}_decimal.");
        }

        if (whole is < 0)
        {
            throw StripeApiException.Invalid($"tiers[{index}][{name}]", "This value must be greater than or equal to 0.", "parameter_invalid_integer");
        }

        return fraction is null
            ? whole
            : decimal.TryParse(fraction, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
                ? amount
                : throw StripeApiException.Invalid($"tiers[{index}][{name}_decimal]", $"Invalid decimal: {fraction}");
    }

    private JsonObject CreateSubscription(StripeParams p, DateTimeOffset now)
    {
        var customerId = p.Required("customer");
        var indices = p.Indices("items");
        var requested = indices.Select(i => (Index: i, Price: p.Optional($"items[{i}][price]"), Quantity: p.OptionalInteger($"items[{i}][quantity]"))).ToList();
        var metadata = p.Map("metadata");
        p.OneOf("payment_behavior", "allow_incomplete", "default_incomplete", "error_if_incomplete", "pending_if_incomplete");
        var collectionMethod = p.OneOf("collection_method", "charge_automatically", "send_invoice") ?? "charge_automatically";
        var daysUntilDue = p.OptionalInteger("days_until_due");
        p.RejectUnknown();
        metadata.Validate("metadata");
        if (requested.Count == 0)
        {
            throw StripeApiException.Missing("items");
        }

        if (daysUntilDue is not null && collectionMethod != "send_invoice")
        {
            throw StripeApiException.Invalid("days_until_due", "`days_until_due` can only be set when `collection_method` is `send_invoice`.");
        }

        if (collectionMethod == "send_invoice" && daysUntilDue is null)
        {
            throw StripeApiException.Missing("days_until_due");
        }

        if (daysUntilDue is < 0 or > 730)
        {
            throw StripeApiException.Invalid("days_until_due", "This value must be between 0 and 730.", "parameter_invalid_integer");
        }

        var customer = FindCustomer(customerId, "customer", 400);
        var created = now.ToUnixTimeSeconds();
        var id = NewId("sub_", 24);
        var items = new List<EmulatedSubscriptionItem>();
        string? interval = null;
        foreach (var (index, priceId, quantity) in requested)
        {
            if (priceId is null)
            {
                throw StripeApiException.Missing($"items[{index}][price]");
            }

            var price = Find(_prices, priceId, "price", $"items[{index}][price]", 400, x => x.Id);
            if (price.Interval is null)
            {
                throw StripeApiException.Invalid($"items[{index}][price]", $"The price specified is set to `type=one_time` but this field only accepts prices with `type=recurring`.");
            }

            if (price.UsageType == "metered" && quantity is not null)
            {
                throw StripeApiException.Invalid($"items[{index}][quantity]", "Quantity should not be specified where usage_type is `metered`. Remove quantity from `items`.");
            }

            interval ??= price.Interval;
            items.Add(new EmulatedSubscriptionItem(NewId("si_"), created, price.Id, price.UsageType == "metered" ? null : quantity ?? 1));
        }

        // Without payment methods the emulator treats every first invoice as paid; tests move the status explicitly.
        var subscription = new EmulatedSubscription(
            id,
            created,
            customer.Id,
            "active",
            items,
            metadata.ApplyTo(Empty),
            created,
            PeriodEnd(now, interval!),
            null,
            null,
            collectionMethod,
            daysUntilDue);
        _subscriptions.Add(subscription);
        Emit("customer.subscription.created", Render(subscription));
        return Render(subscription);
    }

    private JsonObject ListSubscriptions(StripeParams p)
    {
        var customerId = p.Optional("customer");
        var priceId = p.Optional("price");
        var status = p.OneOf("status", "active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid");
        var page = Page.Read(p);
        p.RejectUnknown();

        // Stripe leaves canceled subscriptions out unless they are asked for.
        var matches = _subscriptions.Where(s =>
            (customerId is null || s.CustomerId == customerId)
            && (priceId is null || s.Items.Any(i => i.PriceId == priceId))
            && status switch
            {
                null => s.Status != "canceled",
                "all" => true,
                "ended" => IsEnded(s.Status),
                _ => s.Status == status,
            });
        return page.Apply(matches, s => s.Id, Render, "/v1/subscriptions");
    }

    private JsonObject CancelSubscription(string id, StripeParams p, DateTimeOffset now)
    {
        var invoiceNow = p.OptionalBoolean("invoice_now") ?? false;
        p.OptionalBoolean("prorate");
        p.Optional("cancellation_details[comment]");
        p.OneOf("cancellation_details[feedback]", "customer_service", "low_quality", "missing_features", "other", "switched_service", "too_complex", "too_expensive", "unused");
        p.RejectUnknown();
        var before = FindSubscription(id, 404);
        if (before.Status == "canceled")
        {
            // Stripe treats a canceled subscription as gone for a second cancel, though it can still be retrieved.
            throw StripeApiException.NoSuch("subscription", id, "id", 404);
        }

        var at = now.ToUnixTimeSeconds();
        var after = before with { Status = "canceled", CanceledAt = at, EndedAt = at };
        if (invoiceNow)
        {
            // The final invoice bills the usage metered since the period began; without invoice_now Stripe drops it.
            var invoice = NewInvoice(after, "subscription_cycle", before.CurrentPeriodStart, at, now);
            after = after with { LatestInvoiceId = invoice.Id };
            Emit("invoice.created", StripeJson.Invoice(invoice));
            Emit("invoice.finalized", StripeJson.Invoice(invoice));
        }

        Replace(_subscriptions, before, after);
        Emit("customer.subscription.deleted", Render(after), new JsonObject { ["status"] = before.Status });
        return Render(after);
    }

    private JsonObject CreateMeterEvent(StripeParams p, DateTimeOffset now)
    {
        var eventName = p.Required("event_name");
        var identifier = p.Optional("identifier");
        var timestamp = p.OptionalInteger("timestamp");
        var payload = p.Map("payload");
        p.RejectUnknown();

        if (identifier is { Length: > 100 })
        {
            throw StripeApiException.Invalid("identifier", "Invalid identifier: must be at most 100 characters");
        }

        var meter = _meters.FirstOrDefault(m => m.EventName == eventName)
            ?? throw new StripeApiException(400, Invalid, $"No active meter was found for event_name `{eventName}`.", "resource_missing", "event_name");
        if (!payload.Entries.TryGetValue(meter.CustomerPayloadKey, out var customerId) || customerId.Length == 0)
        {
            throw StripeApiException.Missing($"payload[{meter.CustomerPayloadKey}]");
        }

        if (!payload.Entries.TryGetValue(meter.ValuePayloadKey, out var rawValue) || rawValue.Length == 0)
        {
            throw StripeApiException.Missing($"payload[{meter.ValuePayloadKey}]");
        }

        if (!long.TryParse(rawValue, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw StripeApiException.Invalid($"payload[{meter.ValuePayloadKey}]", $"Invalid integer: {rawValue}", "parameter_invalid_integer");
        }

        var at = timestamp ?? now.ToUnixTimeSeconds();
        if (at < (now - MeterEventMaxAge).ToUnixTimeSeconds())
        {
            throw StripeApiException.Invalid("timestamp", "Timestamp must be within the past 35 calendar days.", "parameter_invalid_integer");
        }

        if (at > (now + MeterEventMaxAhead).ToUnixTimeSeconds())
        {
            throw StripeApiException.Invalid("timestamp", "Timestamp must not be more than 5 minutes in the future.", "parameter_invalid_integer");
        }

        FindCustomer(customerId, $"payload[{meter.CustomerPayloadKey}]", 400);
        identifier ??= NewId("", 24);
        var windowStart = (now - IdentifierWindow).ToUnixTimeSeconds();
        if (IsKnownIdentifier(identifier, windowStart))
        {
            // Stripe's answer for a reused identifier (see README.md): a plain invalid_request_error, no code, not retryable.
            throw new StripeApiException(400, Invalid, $"An event already exists with identifier {identifier}.")
            {
                Headers = new Dictionary<string, string> { ["Stripe-Should-Retry"] = "false" },
            };
        }

        var meterEvent = new EmulatedMeterEvent(identifier, eventName, customerId, value, at, now.ToUnixTimeSeconds(), payload.ApplyTo(Empty));
        AddMeterEvent(meterEvent);
        return StripeJson.MeterEvent(meterEvent);
    }

    private JsonObject EventSummaries(string meterId, StripeParams p)
    {
        var customerId = p.Required("customer");
        var start = p.OptionalInteger("start_time") ?? throw StripeApiException.Missing("start_time");
        var end = p.OptionalInteger("end_time") ?? throw StripeApiException.Missing("end_time");
        var window = p.OneOf("value_grouping_window", "day", "hour");
        var page = Page.Read(p);
        p.RejectUnknown();
        var meter = Find(_meters, meterId, "billing.meter", "id", 404, x => x.Id);
        FindCustomer(customerId, "customer", 400);
        if (start % 60 != 0)
        {
            throw StripeApiException.Invalid("start_time", "start_time must be aligned with minute boundaries.", "parameter_invalid_integer");
        }

        if (end % 60 != 0)
        {
            throw StripeApiException.Invalid("end_time", "end_time must be aligned with minute boundaries.", "parameter_invalid_integer");
        }

        if (end <= start)
        {
            throw StripeApiException.Invalid("end_time", "end_time must be after start_time.", "parameter_invalid_integer");
        }

        var step = window switch { "hour" => 3600L, "day" => 86400L, _ => end - start };
        var summaries = new List<JsonObject>();
        for (var bucketStart = start; bucketStart < end; bucketStart += step)
        {
            var bucketEnd = Math.Min(bucketStart + step, end);
            var events = _meterEvents
                .Where(e => e.EventName == meter.EventName && e.CustomerId == customerId && e.Timestamp >= bucketStart && e.Timestamp < bucketEnd)
                .ToList();
            double value = meter.Formula switch
            {
                "count" => events.Count,
                "last" => events.OrderBy(e => e.Timestamp).ThenBy(e => e.Created).LastOrDefault()?.Value ?? 0,
                _ => events.Sum(e => e.Value),
            };
            summaries.Add(StripeJson.MeterEventSummary($"mtrusg_{meterId}_{bucketStart}", meterId, bucketStart, bucketEnd, value));
        }

        return page.Apply(summaries, s => (string)s["id"]!, s => s, $"/v1/billing/meters/{meterId}/event_summaries");
    }

    private static JsonObject Retrieve(StripeParams p, Func<JsonObject> render)
    {
        p.RejectUnknown();
        return render();
    }

    internal JsonObject Render(EmulatedSubscription s) => StripeJson.Subscription(s, id => _prices.First(p => p.Id == id));

    private EmulatedCustomer FindCustomer(string id, string param = "id", int status = 404) =>
        _customerById.TryGetValue(id, out var customer) ? customer : throw StripeApiException.NoSuch("customer", id, param, status);

    private bool IsKnownIdentifier(string identifier, long windowStart) =>
        _identifierCreated.TryGetValue(identifier, out var created) && created >= windowStart;

    private void AddMeterEvent(EmulatedMeterEvent meterEvent)
    {
        _meterEvents.Add(meterEvent);
        _identifierCreated[meterEvent.Identifier] = meterEvent.Created;
    }

    /// <summary>The statuses Stripe never leaves: a subscription in one is over for good.</summary>
    private static bool IsEnded(string status) => status is "canceled" or "incomplete_expired";

    private EmulatedSubscription FindSubscription(string id, int status) => Find(_subscriptions, id, "subscription", "id", status, s => s.Id);

    private static T Find<T>(List<T> items, string id, string noun, string param, int status, Func<T, string> idOf) =>
        items.FirstOrDefault(x => idOf(x) == id) ?? throw StripeApiException.NoSuch(noun, id, param, status);

    private static void Replace<T>(List<T> items, T before, T after)
    {
        items[items.IndexOf(before)] = after;
    }

    private static long PeriodEnd(DateTimeOffset start, string interval) => (interval switch
    {
        "day" => start.AddDays(1),
        "week" => start.AddDays(7),
        "year" => start.AddYears(1),
        _ => start.AddMonths(1),
    }).ToUnixTimeSeconds();

    private List<T> Snapshot<T>(List<T> items)
    {
        lock (_lock)
        {
            return [.. items];
        }
    }

    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>();

    /// <summary>Stripe's cursor pagination: newest first, <c>limit</c> 1–100 (default 10), one cursor at a time.</summary>
    private sealed record Page(int Limit, string? StartingAfter, string? EndingBefore)
    {
        public static Page Read(StripeParams p)
        {
            var limit = p.OptionalInteger("limit") ?? 10;
            if (limit is < 1 or > 100)
            {
                throw StripeApiException.Invalid("limit", "This value must be between 1 and 100.", "parameter_invalid_integer");
            }

            var startingAfter = p.Optional("starting_after");
            var endingBefore = p.Optional("ending_before");
            if (startingAfter is not null && endingBefore is not null)
            {
                throw StripeApiException.Invalid("ending_before", "You may only specify one of these parameters: ending_before, starting_after.");
            }

            return new Page((int)limit, startingAfter, endingBefore);
        }

        public JsonObject Apply<T>(IEnumerable<T> oldestFirst, Func<T, string> idOf, Func<T, JsonObject> render, string url)
        {
            var newestFirst = oldestFirst.Reverse().ToList();
            List<T> candidates = newestFirst;
            if (StartingAfter is not null)
            {
                candidates = [.. newestFirst.Skip(IndexOf(newestFirst, idOf, StartingAfter, "starting_after") + 1)];
            }
            else if (EndingBefore is not null)
            {
                var before = newestFirst.Take(IndexOf(newestFirst, idOf, EndingBefore, "ending_before")).ToList();
                return StripeJson.List(before.TakeLast(Limit).Select(render), before.Count > Limit, url);
            }

            return StripeJson.List(candidates.Take(Limit).Select(render), candidates.Count > Limit, url);
        }

        private static int IndexOf<T>(List<T> items, Func<T, string> idOf, string id, string param)
        {
            var at = items.FindIndex(x => idOf(x) == id);
            return at < 0 ? throw StripeApiException.NoSuch("object", id, param, 400) : at;
        }
    }
}
