using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Monetization.Emulators.Stripe;

/// <summary>What a change made in the billing portal did: the customer's subscriptions now, the events, and their deliveries.</summary>
public sealed record BillingPortalChange(IReadOnlyList<EmulatedSubscription> Subscriptions, IReadOnlyList<EmulatedEvent> Events, IReadOnlyList<WebhookDelivery> Deliveries);

// The hosted billing portal's page (a session's url) and the calls that do what its buttons do; README.md documents both.
public sealed partial class StripeEmulator
{
    /// <summary>
    /// Replaces the customer's card with the test card, as the portal page's "Update card" does: it becomes the
    /// default payment method, pays the open invoices of the customer's subscriptions and makes a past due or unpaid
    /// one active again. The events (<c>customer.updated</c>, <c>invoice.paid</c>, <c>customer.subscription.updated</c>)
    /// are delivered in that order before this returns when a webhook URL is set.
    /// </summary>
    /// <exception cref="ArgumentException">There is no such session.</exception>
    public async Task<BillingPortalChange> UpdateCardFromPortalAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<EmulatedSubscription> subscriptions;
        try
        {
            subscriptions = _api.UpdatePaymentMethodFromPortal(sessionId, Now);
        }
        catch (StripeApiException e)
        {
            throw new ArgumentException(e.Message, nameof(sessionId), e);
        }

        var (events, deliveries) = await DeliverEmittedNowAsync(deliver: true, cancellationToken);
        return new BillingPortalChange(subscriptions, events, deliveries);
    }

    /// <summary>
    /// Cancels a subscription at the end of its period, as the portal page's "Cancel subscription" does
    /// (<c>cancel_at_period_end</c>, <c>cancel_at</c>), and delivers <c>customer.subscription.updated</c> before this
    /// returns when a webhook URL is set. A subscription already cancelled at period end changes and delivers nothing.
    /// </summary>
    /// <param name="subscriptionId">Which of the customer's subscriptions; null: their only one that has not ended.</param>
    /// <exception cref="ArgumentException">There is no such session or subscription, or the customer has none or several to choose from.</exception>
    public async Task<BillingPortalChange> CancelAtPeriodEndFromPortalAsync(string sessionId, string? subscriptionId = null, CancellationToken cancellationToken = default)
    {
        EmulatedSubscription subscription;
        try
        {
            (subscription, _) = _api.CancelAtPeriodEndFromPortal(sessionId, subscriptionId, Now);
        }
        catch (StripeApiException e)
        {
            throw new ArgumentException(e.Message, nameof(sessionId), e);
        }

        var (events, deliveries) = await DeliverEmittedNowAsync(deliver: true, cancellationToken);
        return new BillingPortalChange([subscription], events, deliveries);
    }

    private async Task UpdateCardOnPortalPageAsync(HttpContext context, string id)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (!IsTestCard(form))
        {
            await WritePortalPageAsync(context, id, "Your card was declined. Use the test card 4242 4242 4242 4242.", StatusCodes.Status402PaymentRequired);
            return;
        }

        await ChangeOnPortalPageAsync(context, id, () => UpdateCardFromPortalAsync(id, context.RequestAborted));
    }

    private async Task CancelOnPortalPageAsync(HttpContext context, string id)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var subscription = form["subscription"].ToString();
        await ChangeOnPortalPageAsync(context, id, () => CancelAtPeriodEndFromPortalAsync(id, subscription.Length == 0 ? null : subscription, context.RequestAborted));
    }

    /// <summary>Makes the change, then sends the browser back to the portal's page (post, redirect, get).</summary>
    private async Task ChangeOnPortalPageAsync(HttpContext context, string id, Func<Task<BillingPortalChange>> change)
    {
        try
        {
            await change();
        }
        catch (ArgumentException e)
        {
            await WritePortalPageAsync(context, id, e.Message, StatusCodes.Status400BadRequest);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = $"/_emulator/billing_portal/{Uri.EscapeDataString(id)}";
    }

    private async Task WritePortalPageAsync(HttpContext context, string id, string? message, int status = StatusCodes.Status200OK)
    {
        const string title = "Stripe billing portal (emulator)";
        EmulatedBillingPortalSession session;
        EmulatedCustomer customer;
        IReadOnlyList<EmulatedSubscription> subscriptions;
        IReadOnlyList<EmulatedInvoice> invoices;
        try
        {
            (session, customer, subscriptions, invoices) = _api.BillingPortal(id);
        }
        catch (StripeApiException)
        {
            await WriteHtmlAsync(context, 404, "<h1>Something went wrong</h1><p>The page you were looking for could not be found.</p>", title);
            return;
        }

        static string E(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);
        static string Day(long unix) => DateTimeOffset.FromUnixTimeSeconds(unix).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var action = $"/_emulator/billing_portal/{E(session.Id)}";
        var page = new StringBuilder();
        page.Append(CultureInfo.InvariantCulture, $"<h1>Manage billing</h1><p id=\"customer\">{E(customer.Email ?? customer.Id)}</p>");
        if (message is not null)
        {
            page.Append(CultureInfo.InvariantCulture, $"<p id=\"portal-error\" role=\"alert\">{E(message)}</p>");
        }

        page.Append("<h2>Subscriptions</h2><ul id=\"subscriptions\">");
        foreach (var s in subscriptions)
        {
            page.Append(CultureInfo.InvariantCulture, $"<li id=\"{E(s.Id)}\" data-status=\"{E(s.Status)}\">{E(s.Id)}: <span class=\"status\">{E(s.Status)}</span>, ");
            if (s.CancelAtPeriodEnd)
            {
                page.Append(CultureInfo.InvariantCulture, $"<span class=\"cancels\">cancels on {Day(s.CancelAt!.Value)}</span></li>");
                continue;
            }

            page.Append(CultureInfo.InvariantCulture, $"""
                renews on {Day(s.CurrentPeriodEnd)}
                <form class="cancel" method="post" action="{action}/cancel"><input type="hidden" name="subscription" value="{E(s.Id)}"><button type="submit">Cancel subscription</button></form></li>
                """);
        }

        page.Append("</ul>");
        page.Append(CultureInfo.InvariantCulture, $"""
            <h2>Payment method</h2>
            <p id="payment-method">{(customer.DefaultPaymentMethod is { } pm ? $"Card {E(pm)}" : "No card on file")}</p>
            <form id="payment-method-form" method="post" action="{action}/payment_method">
            <label for="cardNumber">Card number</label> <input id="cardNumber" name="cardNumber" autocomplete="cc-number" inputmode="numeric" placeholder="1234 1234 1234 1234">
            <label for="cardExpiry">Expiry</label> <input id="cardExpiry" name="cardExpiry" placeholder="MM / YY">
            <label for="cardCvc">CVC</label> <input id="cardCvc" name="cardCvc" placeholder="CVC">
            <button id="update-card" type="submit">Update card</button>
            </form>
            <h2>Invoice history</h2><table id="invoices"><tr><th>Invoice</th><th>Status</th><th>Amount</th></tr>
            """);
        foreach (var i in invoices)
        {
            page.Append(CultureInfo.InvariantCulture, $"<tr id=\"{E(i.Id)}\"><td>{E(i.Id)}</td><td>{E(i.Status)}</td><td>{i.AmountDue} {E(i.Currency)}</td></tr>");
        }

        page.Append("</table>");
        if (session.ReturnUrl is { } returnUrl)
        {
            page.Append(CultureInfo.InvariantCulture, $"<p><a id=\"return\" href=\"{E(returnUrl)}\">Return</a></p>");
        }

        await WriteHtmlAsync(context, status, page.ToString(), title);
    }
}
