using System.Text.Json.Nodes;

namespace Monetization.Emulators.Stripe;

// The hosted billing portal: sessions (Stripe only creates them; there is no retrieve or list) and what a customer
// does on the portal's page, which is replacing the card (paying what is overdue with it) and cancelling a
// subscription at the end of its period. The account has one portal configuration, saved with those features on:
// Stripe refuses sessions until the portal settings are saved once.
internal sealed partial class StripeApi
{
    private readonly List<EmulatedBillingPortalSession> _portalSessions = [];

    /// <summary>The account's default portal configuration, which every session uses.</summary>
    public string PortalConfigurationId { get; } = NewId("bpc_", 24);

    public IReadOnlyList<EmulatedBillingPortalSession> BillingPortalSessions => Snapshot(_portalSessions);

    /// <summary>What the portal page shows: the session's customer, their subscriptions that have not ended, and their invoices, newest first.</summary>
    public (EmulatedBillingPortalSession Session, EmulatedCustomer Customer, IReadOnlyList<EmulatedSubscription> Subscriptions, IReadOnlyList<EmulatedInvoice> Invoices) BillingPortal(string id)
    {
        lock (_lock)
        {
            var session = FindPortalSession(id);
            return (
                session,
                FindCustomer(session.CustomerId),
                [.. LiveSubscriptions(session.CustomerId)],
                [.. _invoices.Where(i => i.CustomerId == session.CustomerId).Reverse()]);
        }
    }

    /// <summary>
    /// What replacing the card on the portal page does: a new payment method becomes the customer's default and that
    /// of each of their subscriptions charged automatically; the open invoices of those subscriptions are paid with it,
    /// and a <c>past_due</c> or <c>unpaid</c> one becomes <c>active</c> again. The status switch makes a subscription past
    /// due without an invoice; the overdue renewal it stands for is then invoiced here (the usage since the period
    /// began) and paid, and the next period begins.
    /// </summary>
    /// <returns>The customer's subscriptions as they are now.</returns>
    public IReadOnlyList<EmulatedSubscription> UpdatePaymentMethodFromPortal(string id, DateTimeOffset now)
    {
        lock (_lock)
        {
            var session = FindPortalSession(id);
            var paymentMethod = NewId("pm_", 24);
            var customer = FindCustomer(session.CustomerId);
            var updated = customer with { DefaultPaymentMethod = paymentMethod };
            Replace(_customers, customer, updated);
            _customerById[updated.Id] = updated;
            Emit("customer.updated", StripeJson.Customer(updated), new JsonObject { ["invoice_settings"] = new JsonObject { ["default_payment_method"] = customer.DefaultPaymentMethod } });

            foreach (var before in LiveSubscriptions(customer.Id).Where(s => s.CollectionMethod == "charge_automatically").ToList())
            {
                var after = before with { DefaultPaymentMethod = paymentMethod };
                var previous = new JsonObject { ["default_payment_method"] = before.DefaultPaymentMethod };
                var overdue = _invoices.Where(i => i.SubscriptionId == before.Id && i.Status == "open").ToList();
                var delinquent = before.Status is "past_due" or "unpaid";
                if (delinquent && overdue.Count == 0)
                {
                    var renewal = NewInvoice(before, "subscription_cycle", before.CurrentPeriodStart, now.ToUnixTimeSeconds(), now);
                    overdue.Add(renewal);
                    var interval = _prices.First(p => p.Id == before.Items[0].PriceId).Interval!;
                    after = after with { CurrentPeriodStart = now.ToUnixTimeSeconds(), CurrentPeriodEnd = PeriodEnd(now, interval), LatestInvoiceId = renewal.Id };
                    previous["latest_invoice"] = before.LatestInvoiceId;
                }

                foreach (var invoice in overdue)
                {
                    var paid = invoice with { Status = "paid", AmountPaid = invoice.AmountDue };
                    Replace(_invoices, invoice, paid);
                    Emit("invoice.paid", StripeJson.Invoice(paid));
                }

                if (delinquent)
                {
                    after = after with { Status = "active" };
                    previous["status"] = before.Status;
                }

                Replace(_subscriptions, before, after);
                Emit("customer.subscription.updated", Render(after), previous);
            }

            return [.. LiveSubscriptions(customer.Id)];
        }
    }

    /// <summary>
    /// What cancelling on the portal page does (the configuration's cancel mode is <c>at_period_end</c>): the
    /// subscription stays as it is until its period ends (<c>cancel_at</c>) and reads <c>cancel_at_period_end</c>, and
    /// <c>canceled_at</c> is the time of the request, as Stripe sets it. Asking again changes nothing.
    /// </summary>
    /// <param name="subscriptionId">Which of the customer's subscriptions; null: their only one that has not ended.</param>
    /// <returns>The subscription, and whether this call changed it.</returns>
    public (EmulatedSubscription Subscription, bool Changed) CancelAtPeriodEndFromPortal(string id, string? subscriptionId, DateTimeOffset now)
    {
        lock (_lock)
        {
            var session = FindPortalSession(id);
            var live = LiveSubscriptions(session.CustomerId).ToList();
            var before = subscriptionId is null
                ? live.Count == 1
                    ? live[0]
                    : throw new StripeApiException(400, Invalid, live.Count == 0 ? "The customer has no subscription to cancel." : "The customer has several subscriptions: name the one to cancel.")
                : live.FirstOrDefault(s => s.Id == subscriptionId) ?? throw StripeApiException.NoSuch("subscription", subscriptionId, "subscription", 404);
            if (before.CancelAtPeriodEnd)
            {
                return (before, false);
            }

            var after = before with { CancelAtPeriodEnd = true, CancelAt = before.CurrentPeriodEnd, CanceledAt = now.ToUnixTimeSeconds() };
            Replace(_subscriptions, before, after);
            Emit("customer.subscription.updated", Render(after), new JsonObject
            {
                ["cancel_at"] = before.CancelAt,
                ["cancel_at_period_end"] = false,
                ["canceled_at"] = before.CanceledAt,
                ["cancellation_details"] = new JsonObject { ["reason"] = null },
            });
            return (after, true);
        }
    }

    private JsonObject CreateBillingPortalSession(StripeParams p, DateTimeOffset now)
    {
        var customerId = p.Required("customer");
        var returnUrl = p.Optional("return_url");
        p.RejectUnknown();
        if (returnUrl is not null && !IsWebUrl(returnUrl))
        {
            throw StripeApiException.Invalid("return_url", "Not a valid URL", "url_invalid");
        }

        FindCustomer(customerId, "customer", 400);
        var id = NewId("bps_", 24);
        var session = new EmulatedBillingPortalSession(
            id,
            now.ToUnixTimeSeconds(),
            PortalConfigurationId,
            customerId,
            returnUrl,
            new Uri(HostedPageBase, $"_emulator/billing_portal/{id}").ToString());
        _portalSessions.Add(session);
        return StripeJson.BillingPortalSession(session);
    }

    private IEnumerable<EmulatedSubscription> LiveSubscriptions(string customerId) =>
        _subscriptions.Where(s => s.CustomerId == customerId && !IsEnded(s.Status));

    private EmulatedBillingPortalSession FindPortalSession(string id) =>
        Find(_portalSessions, id, "billing_portal.session", "id", 404, s => s.Id);

    private static bool IsWebUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var parsed) && parsed.Scheme is "http" or "https";
}
