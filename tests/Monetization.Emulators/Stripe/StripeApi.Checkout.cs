using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

// Checkout Sessions (mode subscription), the invoices a subscription's start and end produce, and the events the
// account's changes emit. Stripe sessions expire 24 hours after creation unless completed.
internal sealed partial class StripeApi
{
    private static readonly TimeSpan CheckoutLifetime = TimeSpan.FromHours(24);

    private readonly List<EmulatedCheckoutSession> _checkoutSessions = [];
    private readonly List<EmulatedInvoice> _invoices = [];
    private readonly List<(string Type, JsonObject Object, JsonObject? PreviousAttributes)> _emitted = [];

    /// <summary>Where the hosted pages (checkout, billing portal) live: the emulator's own address.</summary>
    public Uri HostedPageBase { get; set; } = new("http://127.0.0.1/");

    public IReadOnlyList<EmulatedCheckoutSession> CheckoutSessions => Snapshot(_checkoutSessions);

    public IReadOnlyList<EmulatedInvoice> Invoices => Snapshot(_invoices);

    /// <summary>The events the operations since the last call emitted, in the order they happened.</summary>
    public IReadOnlyList<(string Type, JsonObject Object, JsonObject? PreviousAttributes)> TakeEmitted()
    {
        lock (_lock)
        {
            var taken = _emitted.ToList();
            _emitted.Clear();
            return taken;
        }
    }

    public EmulatedCheckoutSession CheckoutSession(string id, DateTimeOffset now)
    {
        lock (_lock)
        {
            return FindCheckoutSession(id, now, 404);
        }
    }

    /// <summary>
    /// What paying on the hosted page does: the customer's card becomes the subscription's payment method, the
    /// subscription starts active, its first invoice (zero for a metered price) is paid, and the session completes.
    /// </summary>
    public EmulatedCheckoutSession CompleteCheckout(string id, DateTimeOffset now)
    {
        lock (_lock)
        {
            var session = FindCheckoutSession(id, now, 404);
            if (session.Status != "open")
            {
                throw new StripeApiException(400, Invalid, $"This Checkout Session is {session.Status} and can no longer be paid.", "checkout_session_not_open");
            }

            var price = _prices.First(x => x.Id == session.PriceId);
            var created = now.ToUnixTimeSeconds();
            var subscription = new EmulatedSubscription(
                NewId("sub_", 24),
                created,
                session.CustomerId,
                "active",
                [new EmulatedSubscriptionItem(NewId("si_"), created, price.Id, price.UsageType == "metered" ? null : 1)],
                Empty,
                created,
                PeriodEnd(now, price.Interval!),
                null,
                null,
                DefaultPaymentMethod: NewId("pm_", 24));
            var invoice = NewInvoice(subscription, "subscription_create", created, created, now) with { Status = "paid" };
            Replace(_invoices, _invoices.First(i => i.Id == invoice.Id), invoice);
            subscription = subscription with { LatestInvoiceId = invoice.Id };
            _subscriptions.Add(subscription);
            var completed = session with
            {
                Status = "complete",
                PaymentStatus = "no_payment_required",
                SubscriptionId = subscription.Id,
                InvoiceId = invoice.Id,
            };
            Replace(_checkoutSessions, session, completed);

            Emit("customer.subscription.created", Render(subscription));
            Emit("invoice.created", StripeJson.Invoice(invoice with { Status = "draft" }));
            Emit("invoice.finalized", StripeJson.Invoice(invoice with { Status = "open" }));
            Emit("invoice.paid", StripeJson.Invoice(invoice));
            Emit("checkout.session.completed", StripeJson.CheckoutSession(completed));
            return completed;
        }
    }

    private JsonObject CreateCheckoutSession(StripeParams p, DateTimeOffset now)
    {
        var mode = p.OneOf("mode", "payment", "setup", "subscription") ?? throw StripeApiException.Missing("mode");
        var customerId = p.Optional("customer");
        var indices = p.Indices("line_items");
        var lineItems = indices.Select(i => (Index: i, Price: p.Optional($"line_items[{i}][price]"), Quantity: p.OptionalInteger($"line_items[{i}][quantity]"))).ToList();
        var successUrl = p.Optional("success_url");
        var cancelUrl = p.Optional("cancel_url");
        var clientReferenceId = p.Optional("client_reference_id");
        var metadata = p.Map("metadata");
        p.RejectUnknown();
        metadata.Validate("metadata");
        if (mode != "subscription")
        {
            throw StripeApiException.Invalid("mode", "The emulator plays Checkout in mode `subscription` only.");
        }

        if (lineItems.Count == 0)
        {
            throw StripeApiException.Missing("line_items");
        }

        if (lineItems.Count > 1)
        {
            throw StripeApiException.Invalid("line_items", "The emulator plays Checkout with one line item only.");
        }

        var (index, priceId, quantity) = lineItems[0];
        if (priceId is null)
        {
            throw StripeApiException.Missing($"line_items[{index}][price]");
        }

        var price = Find(_prices, priceId, "price", $"line_items[{index}][price]", 400, x => x.Id);
        if (price.Interval is null)
        {
            throw StripeApiException.Invalid($"line_items[{index}][price]", "You must provide at least one recurring price in `subscription` mode when using prices.");
        }

        if (price.UsageType == "metered" && quantity is not null)
        {
            throw StripeApiException.Invalid($"line_items[{index}][quantity]", "Quantity should not be specified where usage_type is `metered`. Remove quantity from `line_items`.");
        }

        foreach (var (name, url) in new[] { ("success_url", successUrl), ("cancel_url", cancelUrl) })
        {
            if (url is not null && !IsWebUrl(url.Replace("{CHECKOUT_SESSION_ID}", "x", StringComparison.Ordinal)))
            {
                throw StripeApiException.Invalid(name, $"Not a valid URL", "url_invalid");
            }
        }

        if (clientReferenceId is { Length: > 200 })
        {
            throw StripeApiException.Invalid("client_reference_id", "Invalid client_reference_id: must be at most 200 characters");
        }

        var created = now.ToUnixTimeSeconds();
        if (customerId is null)
        {
            // In subscription mode Checkout creates a customer when it is given none.
            var made = new EmulatedCustomer(NewId("cus_"), created, null, null, null, null, Empty);
            _customers.Add(made);
            customerId = made.Id;
        }
        else
        {
            FindCustomer(customerId, "customer", 400);
        }

        var id = NewId("cs_test_", 58);
        var session = new EmulatedCheckoutSession(
            id,
            created,
            (now + CheckoutLifetime).ToUnixTimeSeconds(),
            mode,
            customerId,
            price.Id,
            successUrl,
            cancelUrl,
            clientReferenceId,
            metadata.ApplyTo(Empty),
            "open",
            "unpaid",
            new Uri(HostedPageBase, $"_emulator/checkout/{id}").ToString());
        _checkoutSessions.Add(session);
        return StripeJson.CheckoutSession(session);
    }

    private JsonObject ListCheckoutSessions(StripeParams p, DateTimeOffset now)
    {
        var customerId = p.Optional("customer");
        var subscriptionId = p.Optional("subscription");
        var status = p.OneOf("status", "open", "complete", "expired");
        var page = Page.Read(p);
        p.RejectUnknown();
        var matches = _checkoutSessions
            .Select(s => Expired(s, now))
            .Where(s => (customerId is null || s.CustomerId == customerId)
                && (subscriptionId is null || s.SubscriptionId == subscriptionId)
                && (status is null || s.Status == status));
        return page.Apply(matches, s => s.Id, StripeJson.CheckoutSession, "/v1/checkout/sessions");
    }

    private JsonObject ExpireCheckoutSession(string id, StripeParams p, DateTimeOffset now)
    {
        p.RejectUnknown();
        var session = FindCheckoutSession(id, now, 404);
        if (session.Status != "open")
        {
            throw new StripeApiException(400, Invalid, $"Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a status of \"{session.Status}\".");
        }

        var expired = session with { Status = "expired" };
        Replace(_checkoutSessions, session, expired);
        Emit("checkout.session.expired", StripeJson.CheckoutSession(expired));
        return StripeJson.CheckoutSession(expired);
    }

    /// <summary>A session past its <c>expires_at</c> reads as expired, as Stripe's would after its expiry job ran.</summary>
    private EmulatedCheckoutSession FindCheckoutSession(string id, DateTimeOffset now, int status)
    {
        var session = Find(_checkoutSessions, id, "checkout.session", "id", status, s => s.Id);
        var current = Expired(session, now);
        if (!ReferenceEquals(current, session))
        {
            Replace(_checkoutSessions, session, current);
        }

        return current;
    }

    private static EmulatedCheckoutSession Expired(EmulatedCheckoutSession session, DateTimeOffset now) =>
        session.Status == "open" && now.ToUnixTimeSeconds() >= session.ExpiresAt ? session with { Status = "expired" } : session;

    /// <summary>An invoice for the subscription's usage from <paramref name="start"/> to <paramref name="end"/>, finalized and open.</summary>
    private EmulatedInvoice NewInvoice(EmulatedSubscription subscription, string billingReason, long start, long end, DateTimeOffset now)
    {
        var price = _prices.First(x => x.Id == subscription.Items[0].PriceId);
        var usage = price.UsageType == "metered"
            ? _meterEvents.Where(e => e.CustomerId == subscription.CustomerId && e.EventName == _meters.FirstOrDefault(m => m.Id == price.MeterId)?.EventName && e.Timestamp >= start && e.Timestamp <= end).Sum(e => e.Value)
            : 1;
        var amount = LineAmount(price, usage);
        var invoice = new EmulatedInvoice(
            NewId("in_", 24),
            now.ToUnixTimeSeconds(),
            subscription.CustomerId,
            subscription.Id,
            "open",
            billingReason,
            subscription.CollectionMethod,
            amount,
            0,
            price.Currency,
            start,
            end,
            subscription.DaysUntilDue is { } days ? now.AddDays(days).ToUnixTimeSeconds() : null);
        _invoices.Add(invoice);
        return invoice;
    }

    private void Emit(string type, JsonObject obj, JsonObject? previousAttributes = null) => _emitted.Add((type, obj, previousAttributes));
}
