using System.Globalization;
using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

// One-off billing: invoice items on a customer, pending until a one-off invoice (POST /v1/invoices) takes them.
// Amounts are rounded per line, half away from zero, as Stripe's decimal amounts are.
internal sealed partial class StripeApi
{
    private const int MaxDecimalPlaces = 12;
    private const int MaxStringLength = 5000;

    private readonly List<EmulatedInvoiceItem> _invoiceItems = [];

    public IReadOnlyList<EmulatedInvoiceItem> InvoiceItems => Snapshot(_invoiceItems);

    private JsonObject? DispatchInvoicing(string method, string[] path, StripeParams p, DateTimeOffset now) => (method, path) switch
    {
        ("POST", ["v1", "invoiceitems"]) => CreateInvoiceItem(p, now),
        ("GET", ["v1", "invoiceitems"]) => ListInvoiceItems(p),
        ("GET", ["v1", "invoiceitems", var id]) => Retrieve(p, () => StripeJson.InvoiceItem(FindInvoiceItem(id))),
        ("POST", ["v1", "invoices"]) => CreateInvoice(p, now),
        ("GET", ["v1", "invoices", var id]) => Retrieve(p, () => RenderInvoice(FindInvoice(id))),
        ("DELETE", ["v1", "invoices", var id]) => DeleteInvoice(id, p),
        _ => null,
    };

    /// <summary>What a price charges for <paramref name="quantity"/> units in one line, rounded as Stripe rounds a line.</summary>
    internal static long LineAmount(EmulatedPrice price, long quantity)
    {
        if (price.BillingScheme != "tiered")
        {
            return RoundAmount(quantity * decimal.Parse(price.UnitAmountDecimal!, CultureInfo.InvariantCulture));
        }

        var tiers = price.Tiers!;
        if (price.TiersMode == "volume")
        {
            var tier = tiers.First(t => t.UpTo is null || quantity <= t.UpTo);
            return RoundAmount((quantity * tier.UnitAmount) + tier.FlatAmount);
        }

        // Graduated: each tier prices the units that fall in it, and its flat amount applies once any unit does.
        decimal total = 0;
        long from = 0;
        foreach (var tier in tiers)
        {
            var upTo = Math.Min(tier.UpTo ?? long.MaxValue, quantity);
            if (upTo > from)
            {
                total += ((upTo - from) * tier.UnitAmount) + tier.FlatAmount;
            }

            from = tier.UpTo ?? long.MaxValue;
            if (from >= quantity)
            {
                break;
            }
        }

        return RoundAmount(total);
    }

    private static long RoundAmount(decimal amount) => (long)Math.Round(amount, MidpointRounding.AwayFromZero);

    private JsonObject CreateInvoiceItem(StripeParams p, DateTimeOffset now)
    {
        var customerId = p.Required("customer");
        var quantity = p.OptionalInteger("quantity") ?? 1;
        var priceId = p.Optional("pricing[price]");
        var dataCurrency = p.Optional("price_data[currency]");
        var dataProduct = p.Optional("price_data[product]");
        var dataUnitAmount = p.OptionalInteger("price_data[unit_amount]");
        var dataUnitAmountDecimal = p.Optional("price_data[unit_amount_decimal]");
        p.OneOf("price_data[tax_behavior]", "exclusive", "inclusive", "unspecified");
        var description = p.Optional("description");
        var discountable = p.OptionalBoolean("discountable");
        var periodStart = p.OptionalInteger("period[start]");
        var periodEnd = p.OptionalInteger("period[end]");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");

        if (quantity < 0)
        {
            throw StripeApiException.Invalid("quantity", "This value must be greater than or equal to 0.", "parameter_invalid_integer");
        }

        if (description is { Length: > MaxStringLength })
        {
            throw StripeApiException.Invalid("description", $"Invalid string: must be at most {MaxStringLength} characters");
        }

        var hasPriceData = dataCurrency is not null || dataProduct is not null || dataUnitAmount is not null || dataUnitAmountDecimal is not null;
        if (hasPriceData && priceId is not null)
        {
            throw StripeApiException.Invalid("price_data", "You may only specify one of these parameters: price_data, pricing[price].");
        }

        if (!hasPriceData && priceId is null)
        {
            throw StripeApiException.Invalid("price_data", "The emulator prices invoice items by price_data or pricing[price] only: pass one of them.");
        }

        if ((periodStart is null) != (periodEnd is null))
        {
            throw StripeApiException.Missing(periodStart is null ? "period[start]" : "period[end]");
        }

        if (periodEnd < periodStart)
        {
            throw StripeApiException.Invalid("period[end]", "The end of the period must be greater than or equal to the start.", "parameter_invalid_integer");
        }

        var customer = FindCustomer(customerId, "customer", 400);
        var (price, currency, productId) = hasPriceData
            ? InlinePrice(dataCurrency, dataProduct, dataUnitAmount, dataUnitAmountDecimal, now)
            : ExistingPrice(priceId!);
        var created = now.ToUnixTimeSeconds();
        var item = new EmulatedInvoiceItem(
            NewId("ii_", 24),
            created,
            customer.Id,
            currency,
            quantity,
            price.UnitAmountDecimal!,
            LineAmount(price, quantity),
            price.Id,
            productId,
            description,
            discountable ?? true,
            periodStart ?? created,
            periodEnd ?? created,
            metadata.ApplyTo(Empty));
        _invoiceItems.Add(item);
        Emit("invoiceitem.created", StripeJson.InvoiceItem(item));
        return StripeJson.InvoiceItem(item);
    }

    /// <summary>The one-off price <c>price_data</c> describes; Stripe makes it for the item alone, outside the account's price list.</summary>
    private (EmulatedPrice Price, string Currency, string ProductId) InlinePrice(string? currency, string? productId, long? unitAmount, string? unitAmountDecimal, DateTimeOffset now)
    {
        if (currency is null)
        {
            throw StripeApiException.Missing("price_data[currency]");
        }

        if (productId is null)
        {
            throw StripeApiException.Missing("price_data[product]");
        }

        if (currency.Length != 3 || !currency.All(char.IsAsciiLetterLower))
        {
            throw StripeApiException.Invalid("price_data[currency]", $"Invalid currency: {currency}. Stripe currently supports these currencies: usd, eur, gbp, ...");
        }

        if (unitAmount is not null && unitAmountDecimal is not null)
        {
            throw StripeApiException.Invalid("price_data[unit_amount_decimal]", "You may only specify one of these parameters: unit_amount, unit_amount_decimal.");
        }

        if (unitAmount is null && unitAmountDecimal is null)
        {
            throw StripeApiException.Missing("price_data[unit_amount]");
        }

        if (unitAmount is < 0)
        {
            throw StripeApiException.Invalid("price_data[unit_amount]", "This value must be greater than or equal to 0.", "parameter_invalid_integer");
        }

        if (unitAmountDecimal is not null && !IsAmountDecimal(unitAmountDecimal))
        {
            throw StripeApiException.Invalid("price_data[unit_amount_decimal]", $"Invalid decimal: {unitAmountDecimal}");
        }

        Find(_products, productId, "product", "price_data[product]", 400, x => x.Id);
        var price = new EmulatedPrice(
            NewId("price_", 24),
            now.ToUnixTimeSeconds(),
            productId,
            currency,
            unitAmount,
            unitAmountDecimal ?? unitAmount!.Value.ToString(CultureInfo.InvariantCulture),
            null,
            0,
            null,
            null,
            null,
            Empty);
        return (price, currency, productId);
    }

    private (EmulatedPrice Price, string Currency, string ProductId) ExistingPrice(string priceId)
    {
        var price = Find(_prices, priceId, "price", "pricing[price]", 400, x => x.Id);
        if (price.UsageType == "metered" || price.BillingScheme == "tiered")
        {
            // Not a case Stripe documents for invoice items; the emulator refuses it rather than guess.
            throw StripeApiException.Invalid("pricing[price]", "The emulator prices invoice items by per-unit, non-metered prices only: use price_data for usage.");
        }

        return (price, price.Currency, price.ProductId);
    }

    /// <summary>A non-negative decimal with at most 12 decimal places, as Stripe's decimal amounts are.</summary>
    private static bool IsAmountDecimal(string value)
    {
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        return decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out _)
            && (dot < 0 || value.Length - dot - 1 <= MaxDecimalPlaces);
    }

    private JsonObject ListInvoiceItems(StripeParams p)
    {
        var customerId = p.Optional("customer");
        var invoiceId = p.Optional("invoice");
        var pending = p.OptionalBoolean("pending");
        var page = Page.Read(p);
        p.RejectUnknown();
        var matches = _invoiceItems.Where(i =>
            (customerId is null || i.CustomerId == customerId)
            && (invoiceId is null || i.InvoiceId == invoiceId)
            && (pending is null || (i.InvoiceId is null) == pending));
        return page.Apply(matches, i => i.Id, StripeJson.InvoiceItem, "/v1/invoiceitems");
    }

    /// <summary>
    /// A one-off invoice, left a draft (finalizing is Stripe's scheduled work, an hour later for an auto-advancing one).
    /// With <c>pending_invoice_items_behavior=include</c> it takes the customer's pending items; with none pending it
    /// is an empty draft, not an error (the error, <c>invoice_no_customer_line_items</c>, belonged to API versions
    /// before 2022-08-01, when including was the default and required items).
    /// </summary>
    private JsonObject CreateInvoice(StripeParams p, DateTimeOffset now)
    {
        var customerId = p.Required("customer");
        var behavior = p.OneOf("pending_invoice_items_behavior", "exclude", "include") ?? "exclude";
        var autoAdvance = p.OptionalBoolean("auto_advance") ?? false;
        var collectionMethod = p.OneOf("collection_method", "charge_automatically", "send_invoice") ?? "charge_automatically";
        var daysUntilDue = p.OptionalInteger("days_until_due");
        var description = p.Optional("description");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");
        if (daysUntilDue is not null && collectionMethod != "send_invoice")
        {
            throw StripeApiException.Invalid("days_until_due", "`days_until_due` can only be set when `collection_method` is `send_invoice`.");
        }

        if (collectionMethod == "send_invoice" && daysUntilDue is null)
        {
            throw StripeApiException.Missing("days_until_due");
        }

        if (description is { Length: > MaxStringLength })
        {
            throw StripeApiException.Invalid("description", $"Invalid string: must be at most {MaxStringLength} characters");
        }

        var customer = FindCustomer(customerId, "customer", 400);
        var pending = behavior == "include" ? _invoiceItems.Where(i => i.CustomerId == customer.Id && i.InvoiceId is null).ToList() : [];
        if (pending.Select(i => i.Currency).Distinct(StringComparer.Ordinal).Count() > 1)
        {
            throw StripeApiException.Invalid("pending_invoice_items_behavior", "The emulator invoices pending items of one currency only.");
        }

        var created = now.ToUnixTimeSeconds();
        var invoice = new EmulatedInvoice(
            NewId("in_", 24),
            created,
            customer.Id,
            null,
            "draft",
            "manual",
            collectionMethod,
            pending.Sum(i => i.Amount),
            0,
            pending.Count == 0 ? "usd" : pending[0].Currency,
            pending.Count == 0 ? created : pending.Min(i => i.PeriodStart),
            pending.Count == 0 ? created : pending.Max(i => i.PeriodEnd),
            daysUntilDue is { } days ? now.AddDays(days).ToUnixTimeSeconds() : null,
            description,
            autoAdvance,
            metadata.ApplyTo(Empty));
        _invoices.Add(invoice);
        foreach (var item in pending)
        {
            Replace(_invoiceItems, item, item with { InvoiceId = invoice.Id });
        }

        Emit("invoice.created", RenderInvoice(invoice));
        return RenderInvoice(invoice);
    }

    /// <summary>Stripe deletes only drafts of one-off invoices; anything else has to be voided.</summary>
    private JsonObject DeleteInvoice(string id, StripeParams p)
    {
        p.RejectUnknown();
        var invoice = FindInvoice(id);
        if (invoice.Status != "draft" || invoice.SubscriptionId is not null)
        {
            throw new StripeApiException(400, Invalid, "You can only delete draft invoices that are not attached to a subscription. Void the invoice instead.");
        }

        if (_invoiceItems.Any(i => i.InvoiceId == id))
        {
            throw StripeApiException.Invalid("id", "The emulator deletes only drafts without items.");
        }

        _invoices.Remove(invoice);
        Emit("invoice.deleted", RenderInvoice(invoice));
        return new JsonObject { ["id"] = invoice.Id, ["object"] = "invoice", ["deleted"] = true };
    }

    private JsonObject RenderInvoice(EmulatedInvoice invoice) =>
        StripeJson.Invoice(invoice, [.. _invoiceItems.Where(i => i.InvoiceId == invoice.Id)]);

    private EmulatedInvoiceItem FindInvoiceItem(string id) => Find(_invoiceItems, id, "invoiceitem", "id", 404, i => i.Id);

    private EmulatedInvoice FindInvoice(string id) => Find(_invoices, id, "invoice", "id", 404, i => i.Id);
}
