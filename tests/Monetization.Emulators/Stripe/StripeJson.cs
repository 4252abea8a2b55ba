using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

/// <summary>
/// Renders emulated resources in the shapes of Stripe's published example objects at API version 2026-10-28.endive
/// (since 2025-03-31.basil billing periods live on subscription items and prices carry <c>recurring.meter</c>; since
/// 2025-09-30.clover subscriptions created through the API bill in flexible mode; since 2026-03-25.dahlia a hosted
/// Checkout page is <c>ui_mode: hosted_page</c>).
/// </summary>
internal static class StripeJson
{
    public static JsonObject Customer(EmulatedCustomer c) => new()
    {
        ["id"] = c.Id,
        ["object"] = "customer",
        ["address"] = null,
        ["balance"] = 0,
        ["created"] = c.Created,
        ["currency"] = null,
        ["default_source"] = null,
        ["delinquent"] = false,
        ["description"] = c.Description,
        ["discount"] = null,
        ["email"] = c.Email,
        ["invoice_prefix"] = c.Id[4..Math.Min(c.Id.Length, 11)].ToUpperInvariant(),
        ["invoice_settings"] = new JsonObject
        {
            ["custom_fields"] = null,
            ["default_payment_method"] = c.DefaultPaymentMethod,
            ["footer"] = null,
            ["rendering_options"] = null,
        },
        ["livemode"] = false,
        ["metadata"] = Map(c.Metadata),
        ["name"] = c.Name,
        ["next_invoice_sequence"] = 1,
        ["phone"] = c.Phone,
        ["preferred_locales"] = new JsonArray(),
        ["shipping"] = null,
        ["tax_exempt"] = "none",
        ["test_clock"] = null,
    };

    public static JsonObject Product(EmulatedProduct p) => new()
    {
        ["id"] = p.Id,
        ["object"] = "product",
        ["active"] = p.Active,
        ["created"] = p.Created,
        ["default_price"] = null,
        ["description"] = p.Description,
        ["images"] = new JsonArray(),
        ["livemode"] = false,
        ["marketing_features"] = new JsonArray(),
        ["metadata"] = Map(p.Metadata),
        ["name"] = p.Name,
        ["package_dimensions"] = null,
        ["shippable"] = null,
        ["statement_descriptor"] = null,
        ["tax_code"] = null,
        ["type"] = "service",
        ["unit_label"] = null,
        ["updated"] = p.Created,
        ["url"] = null,
    };

    public static JsonObject Meter(EmulatedMeter m) => new()
    {
        ["id"] = m.Id,
        ["object"] = "billing.meter",
        ["created"] = m.Created,
        ["customer_mapping"] = new JsonObject { ["event_payload_key"] = m.CustomerPayloadKey, ["type"] = "by_id" },
        ["default_aggregation"] = new JsonObject { ["formula"] = m.Formula },
        ["display_name"] = m.DisplayName,
        ["event_name"] = m.EventName,
        ["event_time_window"] = m.EventTimeWindow,
        ["livemode"] = false,
        ["status"] = "active",
        ["status_transitions"] = new JsonObject { ["deactivated_at"] = null },
        ["updated"] = m.Created,
        ["value_settings"] = new JsonObject { ["event_payload_key"] = m.ValuePayloadKey },
    };

    public static JsonObject Price(EmulatedPrice p) => new()
    {
        ["id"] = p.Id,
        ["object"] = "price",
        ["active"] = true,
        ["billing_scheme"] = p.BillingScheme,
        ["created"] = p.Created,
        ["currency"] = p.Currency,
        ["custom_unit_amount"] = null,
        ["livemode"] = false,
        ["lookup_key"] = null,
        ["metadata"] = Map(p.Metadata),
        ["nickname"] = p.Nickname,
        ["product"] = p.ProductId,
        ["recurring"] = p.Interval is null ? null : new JsonObject
        {
            ["interval"] = p.Interval,
            ["interval_count"] = p.IntervalCount,
            ["meter"] = p.MeterId,
            ["trial_period_days"] = null,
            ["usage_type"] = p.UsageType,
        },
        ["tax_behavior"] = "unspecified",
        ["tiers_mode"] = p.TiersMode,
        ["transform_quantity"] = null,
        ["type"] = p.Interval is null ? "one_time" : "recurring",
        ["unit_amount"] = p.UnitAmount,
        ["unit_amount_decimal"] = p.UnitAmountDecimal,
    };

    public static JsonObject Subscription(EmulatedSubscription s, Func<string, EmulatedPrice> price)
    {
        var items = new JsonArray();
        foreach (var item in s.Items)
        {
            items.Add(SubscriptionItem(s, item, price(item.PriceId)));
        }

        return new JsonObject
        {
            ["id"] = s.Id,
            ["object"] = "subscription",
            ["application"] = null,
            ["application_fee_percent"] = null,
            ["automatic_tax"] = new JsonObject { ["disabled_reason"] = null, ["enabled"] = false, ["liability"] = null },
            ["billing_cycle_anchor"] = s.CurrentPeriodStart,
            ["billing_cycle_anchor_config"] = null,
            ["billing_mode"] = new JsonObject { ["flexible"] = new JsonObject { ["proration_discounts"] = "itemized" }, ["type"] = "flexible", ["updated_at"] = s.Created },
            ["billing_thresholds"] = null,
            ["cancel_at"] = s.CancelAt,
            ["cancel_at_period_end"] = s.CancelAtPeriodEnd,
            ["canceled_at"] = s.CanceledAt,
            ["cancellation_details"] = new JsonObject { ["comment"] = null, ["feedback"] = null, ["reason"] = s.CanceledAt is null ? null : "cancellation_requested" },
            ["collection_method"] = s.CollectionMethod,
            ["created"] = s.Created,
            ["currency"] = s.Items.Count == 0 ? "usd" : price(s.Items[0].PriceId).Currency,
            ["customer"] = s.CustomerId,
            ["days_until_due"] = s.DaysUntilDue,
            ["default_payment_method"] = s.DefaultPaymentMethod,
            ["default_source"] = null,
            ["default_tax_rates"] = new JsonArray(),
            ["description"] = null,
            ["discounts"] = new JsonArray(),
            ["ended_at"] = s.EndedAt,
            ["invoice_settings"] = new JsonObject { ["account_tax_ids"] = null, ["issuer"] = new JsonObject { ["type"] = "self" } },
            ["items"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = items,
                ["has_more"] = false,
                ["total_count"] = s.Items.Count,
                ["url"] = $"/v1/subscription_items?subscription={s.Id}",
            },
            ["latest_invoice"] = s.LatestInvoiceId,
            ["livemode"] = false,
            ["metadata"] = Map(s.Metadata),
            ["next_pending_invoice_item_invoice"] = null,
            ["on_behalf_of"] = null,
            ["pause_collection"] = null,
            ["payment_settings"] = new JsonObject
            {
                ["payment_method_options"] = null,
                ["payment_method_types"] = null,
                ["save_default_payment_method"] = "off",
            },
            ["pending_invoice_item_interval"] = null,
            ["pending_setup_intent"] = null,
            ["pending_update"] = null,
            ["schedule"] = null,
            ["start_date"] = s.Created,
            ["status"] = s.Status,
            ["test_clock"] = null,
            ["transfer_data"] = null,
            ["trial_end"] = null,
            ["trial_settings"] = new JsonObject { ["end_behavior"] = new JsonObject { ["missing_payment_method"] = "create_invoice" } },
            ["trial_start"] = null,
        };
    }

    /// <summary>Field names and nesting as in Stripe's published <c>checkout.session</c> example (2025-03-31.basil and later).</summary>
    public static JsonObject CheckoutSession(EmulatedCheckoutSession s) => new()
    {
        ["id"] = s.Id,
        ["object"] = "checkout.session",
        ["adaptive_pricing"] = new JsonObject { ["enabled"] = false },
        ["after_expiration"] = null,
        ["allow_promotion_codes"] = null,
        ["amount_subtotal"] = 0,
        ["amount_total"] = 0,
        ["automatic_tax"] = new JsonObject { ["enabled"] = false, ["liability"] = null, ["provider"] = null, ["status"] = null },
        ["billing_address_collection"] = null,
        ["cancel_url"] = s.CancelUrl,
        ["client_reference_id"] = s.ClientReferenceId,
        ["client_secret"] = null,
        ["collected_information"] = null,
        ["consent"] = null,
        ["consent_collection"] = null,
        ["created"] = s.Created,
        ["currency"] = "usd",
        ["custom_fields"] = new JsonArray(),
        ["custom_text"] = new JsonObject { ["after_submit"] = null, ["shipping_address"] = null, ["submit"] = null, ["terms_of_service_acceptance"] = null },
        ["customer"] = s.CustomerId,
        ["customer_creation"] = null,
        ["customer_details"] = s.Status == "complete"
            ? new JsonObject { ["address"] = null, ["email"] = null, ["name"] = null, ["phone"] = null, ["tax_exempt"] = "none", ["tax_ids"] = new JsonArray() }
            : null,
        ["customer_email"] = null,
        ["discounts"] = new JsonArray(),
        ["expires_at"] = s.ExpiresAt,
        ["invoice"] = s.InvoiceId,
        ["invoice_creation"] = null,
        ["livemode"] = false,
        ["locale"] = null,
        ["metadata"] = Map(s.Metadata),
        ["mode"] = s.Mode,
        ["payment_intent"] = null,
        ["payment_link"] = null,
        ["payment_method_collection"] = "always",
        ["payment_method_configuration_details"] = null,
        ["payment_method_options"] = new JsonObject(),
        ["payment_method_types"] = new JsonArray("card"),
        ["payment_status"] = s.PaymentStatus,
        ["phone_number_collection"] = new JsonObject { ["enabled"] = false },
        ["recovered_from"] = null,
        ["saved_payment_method_options"] = null,
        ["setup_intent"] = null,
        ["shipping_address_collection"] = null,
        ["shipping_cost"] = null,
        ["shipping_options"] = new JsonArray(),
        ["status"] = s.Status,
        ["submit_type"] = null,
        ["subscription"] = s.SubscriptionId,
        ["success_url"] = s.SuccessUrl,
        ["total_details"] = new JsonObject { ["amount_discount"] = 0, ["amount_shipping"] = 0, ["amount_tax"] = 0 },
        ["ui_mode"] = "hosted_page",
        ["url"] = s.Status == "open" ? s.Url : null,
    };

    /// <summary>
    /// Field names as in Stripe's published <c>billing_portal.session</c> example. A session opened without
    /// <c>flow_data</c> shows the portal's home page, so its <c>flow</c> is null; <c>configuration</c> is the account's
    /// default portal configuration, not expanded.
    /// </summary>
    public static JsonObject BillingPortalSession(EmulatedBillingPortalSession s) => new()
    {
        ["id"] = s.Id,
        ["object"] = "billing_portal.session",
        ["configuration"] = s.ConfigurationId,
        ["created"] = s.Created,
        ["customer"] = s.CustomerId,
        ["customer_account"] = null,
        ["flow"] = null,
        ["livemode"] = false,
        ["locale"] = null,
        ["on_behalf_of"] = null,
        ["return_url"] = s.ReturnUrl,
        ["url"] = s.Url,
    };

    /// <summary>
    /// Field names as in Stripe's published <c>invoice</c> example. Since 2025-03-31.basil the subscription is named
    /// under <c>parent.subscription_details</c>; the top-level <c>subscription</c> is no longer filled, and a one-off
    /// invoice has no parent. <paramref name="items"/> are the invoice items it took, rendered as its lines.
    /// </summary>
    public static JsonObject Invoice(EmulatedInvoice i, IReadOnlyList<EmulatedInvoiceItem>? items = null)
    {
        var lines = new JsonArray();
        foreach (var item in items ?? [])
        {
            lines.Add(LineItem(item));
        }

        // Paid invoices never advance; an auto-advancing draft is finalized an hour after it was created.
        var autoAdvance = i.Status != "paid" && (i.AutoAdvance ?? true);
        return new JsonObject
        {
            ["id"] = i.Id,
            ["object"] = "invoice",
            ["account_country"] = "US",
            ["account_name"] = null,
            ["amount_due"] = i.AmountDue,
            ["amount_overpaid"] = 0,
            ["amount_paid"] = i.Status == "paid" ? i.AmountDue : i.AmountPaid,
            ["amount_remaining"] = i.Status == "paid" ? 0 : i.AmountDue - i.AmountPaid,
            ["amount_shipping"] = 0,
            ["attempt_count"] = i.Status == "paid" ? 1 : 0,
            ["attempted"] = i.Status == "paid",
            ["auto_advance"] = autoAdvance,
            ["automatically_finalizes_at"] = i.Status == "draft" && autoAdvance ? i.Created + 3600 : null,
            ["billing_reason"] = i.BillingReason,
            ["collection_method"] = i.CollectionMethod,
            ["created"] = i.Created,
            ["currency"] = i.Currency,
            ["customer"] = i.CustomerId,
            ["customer_email"] = null,
            ["customer_name"] = null,
            ["default_payment_method"] = null,
            ["description"] = i.Description,
            ["discounts"] = new JsonArray(),
            ["due_date"] = i.DueDate,
            ["effective_at"] = i.Status == "draft" ? null : i.Created,
            ["hosted_invoice_url"] = null,
            ["invoice_pdf"] = null,
            ["issuer"] = new JsonObject { ["type"] = "self" },
            ["lines"] = new JsonObject { ["object"] = "list", ["data"] = lines, ["has_more"] = false, ["url"] = $"/v1/invoices/{i.Id}/lines" },
            ["livemode"] = false,
            ["metadata"] = Map(i.Metadata ?? new Dictionary<string, string>()),
            ["number"] = null,
            ["parent"] = i.SubscriptionId is null ? null : new JsonObject
            {
                ["quote_details"] = null,
                ["subscription_details"] = new JsonObject { ["metadata"] = new JsonObject(), ["subscription"] = i.SubscriptionId },
                ["type"] = "subscription_details",
            },
            ["period_end"] = i.PeriodEnd,
            ["period_start"] = i.PeriodStart,
            ["status"] = i.Status,
            ["status_transitions"] = new JsonObject { ["finalized_at"] = i.Status == "draft" ? null : i.Created, ["marked_uncollectible_at"] = null, ["paid_at"] = i.Status == "paid" ? i.Created : null, ["voided_at"] = null },
            ["subtotal"] = i.AmountDue,
            ["test_clock"] = null,
            ["total"] = i.AmountDue,
        };
    }

    /// <summary>
    /// Field names as in Stripe's published <c>invoiceitem</c> example at 2026-10-28.endive: since 2025-03-31.basil the
    /// price is under <c>pricing.price_details</c> and a subscription under <c>parent</c> (null for a one-off item);
    /// since 2026-03-25.dahlia the quantity is also a decimal string.
    /// </summary>
    public static JsonObject InvoiceItem(EmulatedInvoiceItem i) => new()
    {
        ["id"] = i.Id,
        ["object"] = "invoiceitem",
        ["amount"] = i.Amount,
        ["currency"] = i.Currency,
        ["customer"] = i.CustomerId,
        ["customer_account"] = null,
        ["date"] = i.Created,
        ["description"] = i.Description,
        ["discountable"] = i.Discountable,
        ["discounts"] = new JsonArray(),
        ["invoice"] = i.InvoiceId,
        ["livemode"] = false,
        ["metadata"] = Map(i.Metadata),

        // After discounts, of which the emulator has none.
        ["net_amount"] = i.Amount,
        ["parent"] = null,
        ["period"] = new JsonObject { ["end"] = i.PeriodEnd, ["start"] = i.PeriodStart },
        ["pricing"] = Pricing(i),
        ["proration"] = false,
        ["quantity"] = i.Quantity,
        ["quantity_decimal"] = i.Quantity.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["tax_rates"] = new JsonArray(),
        ["test_clock"] = null,
    };

    /// <summary>An invoice item on the invoice that took it, as Stripe's published <c>line_item</c> example names the fields.</summary>
    public static JsonObject LineItem(EmulatedInvoiceItem i) => new()
    {
        ["id"] = "il_" + i.Id[3..],
        ["object"] = "line_item",
        ["amount"] = i.Amount,
        ["currency"] = i.Currency,
        ["description"] = i.Description,
        ["discount_amounts"] = new JsonArray(),
        ["discountable"] = i.Discountable,
        ["discounts"] = new JsonArray(),
        ["invoice"] = i.InvoiceId,
        ["livemode"] = false,
        ["metadata"] = Map(i.Metadata),
        ["parent"] = new JsonObject
        {
            ["invoice_item_details"] = new JsonObject
            {
                ["invoice_item"] = i.Id,
                ["proration"] = false,
                ["proration_details"] = new JsonObject { ["credited_items"] = null },
                ["subscription"] = null,
            },
            ["subscription_item_details"] = null,
            ["type"] = "invoice_item_details",
        },
        ["period"] = new JsonObject { ["end"] = i.PeriodEnd, ["start"] = i.PeriodStart },
        ["pretax_credit_amounts"] = new JsonArray(),
        ["pricing"] = Pricing(i),
        ["quantity"] = i.Quantity,
        ["quantity_decimal"] = i.Quantity.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["subtotal"] = i.Amount,
        ["taxes"] = new JsonArray(),
    };

    public static JsonObject MeterEvent(EmulatedMeterEvent e) => new()
    {
        ["object"] = "billing.meter_event",
        ["created"] = e.Created,
        ["event_name"] = e.EventName,
        ["identifier"] = e.Identifier,
        ["livemode"] = false,
        ["payload"] = Map(e.Payload),
        ["timestamp"] = e.Timestamp,
    };

    public static JsonObject MeterEventSummary(string id, string meterId, long start, long end, double value) => new()
    {
        ["id"] = id,
        ["object"] = "billing.meter_event_summary",
        ["aggregated_value"] = value,
        ["end_time"] = end,
        ["livemode"] = false,
        ["meter"] = meterId,
        ["start_time"] = start,
    };

    public static JsonObject List(IEnumerable<JsonNode> data, bool hasMore, string url)
    {
        var array = new JsonArray();
        foreach (var node in data)
        {
            array.Add(node);
        }

        return new JsonObject { ["object"] = "list", ["data"] = array, ["has_more"] = hasMore, ["url"] = url };
    }

    public static JsonObject Event(string id, string type, long created, string apiVersion, JsonObject obj, JsonObject? previousAttributes)
    {
        var data = new JsonObject { ["object"] = obj };
        if (previousAttributes is not null)
        {
            data["previous_attributes"] = previousAttributes;
        }

        return new JsonObject
        {
            ["id"] = id,
            ["object"] = "event",
            ["api_version"] = apiVersion,
            ["created"] = created,
            ["data"] = data,
            ["livemode"] = false,
            ["pending_webhooks"] = 1,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["type"] = type,
        };
    }

    private static JsonObject SubscriptionItem(EmulatedSubscription s, EmulatedSubscriptionItem item, EmulatedPrice price)
    {
        var json = new JsonObject
        {
            ["id"] = item.Id,
            ["object"] = "subscription_item",
            ["billing_thresholds"] = null,
            ["created"] = item.Created,
            ["current_period_end"] = s.CurrentPeriodEnd,
            ["current_period_start"] = s.CurrentPeriodStart,
            ["discounts"] = new JsonArray(),
            ["metadata"] = new JsonObject(),
            ["price"] = Price(price),
            ["subscription"] = s.Id,
            ["tax_rates"] = new JsonArray(),
        };
        if (item.Quantity is { } quantity)
        {
            // Metered items carry no quantity: usage comes from the meter.
            json["quantity"] = quantity;
        }

        return json;
    }

    private static JsonObject Pricing(EmulatedInvoiceItem i) => new()
    {
        ["price_details"] = new JsonObject { ["price"] = i.PriceId, ["product"] = i.ProductId },
        ["type"] = "price_details",
        ["unit_amount_decimal"] = i.UnitAmountDecimal,
    };

    private static JsonObject Map(IReadOnlyDictionary<string, string> map)
    {
        var json = new JsonObject();
        foreach (var (key, value) in map.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            json[key] = value;
        }

        return json;
    }
}
