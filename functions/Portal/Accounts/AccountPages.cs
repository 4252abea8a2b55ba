using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core.Accounts;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Accounts;

public static class AccountPages
{
    public static ContentHttpResult ConfirmSignIn(HttpContext context, string token, PortalOptions options, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Sign in", $"""
            <section id="signin" tabindex="-1" aria-labelledby="signin-heading">
            <h1 id="signin-heading" tabindex="-1" data-autofocus>Sign in</h1>
            {(message is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{Html.Encode(message)}</p>")}
            <p>Confirm to sign in to your account. The link works once.</p>
            <form id="signin-form" method="post" action="{SignInEndpoints.Path}">
            {FormGuard.Field(context)}
            <input type="hidden" name="token" value="{Html.Encode(token)}">
            <button type="submit" id="confirm-signin">Sign in</button>
            </form>
            {Html.Support(options.SupportContact)}
            </section>
            """);
    }

    public static ContentHttpResult LinkUnusable(PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Sign-in link not valid", $"""
            <section id="signin-unusable" tabindex="-1" aria-labelledby="result-heading">
            <h1 id="result-heading" tabindex="-1" data-autofocus>This sign-in link does not work any more</h1>
            <p>Sign-in links work once, for a short time. <a href="/">Ask for a new one</a>.</p>
            {Html.Support(options.SupportContact)}
            </section>
            """, StatusCodes.Status410Gone);
    }

    public static ContentHttpResult Account(HttpContext context, AccountView view, PortalOptions options, string? notice = null)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(options);
        var record = view.Record;
        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"""
            <section id="account" aria-labelledby="account-heading">
            <h1 id="account-heading" tabindex="-1" data-autofocus>Your account</h1>
            {(record.Email is null ? "<p>Signed in from AWS Marketplace.</p>" : $"<p>Signed in as <strong id=\"account-email\">{Html.Encode(record.Email)}</strong>.</p>")}
            """);
        if (notice is not null)
        {
            body.Append(CultureInfo.InvariantCulture, $"<p class=\"error\" role=\"alert\" id=\"account-notice\">{Html.Encode(notice)}</p>");
        }

        body.Append(Subscription(context, view));
        body.Append(Key(context, view, options));
        body.Append(RetiredKeys(context, record));
        body.Append(Usage(view));
        body.Append(SpendCap(context, view));
        body.Append(CultureInfo.InvariantCulture, $"""
            <form method="post" action="{SignInEndpoints.SignOutPath}">{FormGuard.Field(context)}<button type="submit" class="secondary" id="sign-out">Sign out</button></form>
            {Html.Support(options.SupportContact)}
            </section>
            """);
        var refresh = record switch
        {
            { AwaitsKey: true, KeyRefusedAt: not null } => CeilingRefreshSeconds,
            { AwaitsKey: true } => ActivationRefreshSeconds,
            _ => (int?)null,
        };
        return Html.Page("Your account", body.ToString(), refreshSeconds: refresh);
    }

    /// <summary>How often the account page reloads itself while the key is being made (usually a second or two).</summary>
    public const int ActivationRefreshSeconds = 2;

    /// <summary>How often it reloads while the key waits at the account's key ceiling: as often as it asks again for the key.</summary>
    public const int CeilingRefreshSeconds = 60;

    /// <summary>Where the subscription stands and the one thing to do next.</summary>
    private static string Subscription(HttpContext context, AccountView view)
    {
        var (record, freePlanOpen) = (view.Record, view.FreePlanOpen);
        if (record.Channel == Channel.Marketplace)
        {
            var (marketplaceState, waiting) = record switch
            {
                { Subscribed: true } => ("Active", string.Empty),
                { Status: SubscriberStatus.Pending } => (
                    "Waiting for AWS Marketplace",
                    "<p id=\"subscription-waiting\">Waiting for AWS Marketplace to confirm your subscription. This usually takes a minute or two; your key starts working as soon as it is confirmed, with nothing more to do here.</p>"),
                _ => ("Ended", string.Empty),
            };
            return $"""
                <h2>Subscription</h2>
                <p>Status: <strong id="subscription-status">{marketplaceState}</strong></p>
                {waiting}
                <p id="subscription-detail">Billed to your AWS account through AWS Marketplace; manage or cancel the subscription there.</p>
                """;
        }

        var (state, detail, action) = record switch
        {
            { EndRequestedAt: not null, Status: not SubscriberStatus.Cancelled } => (
                "Ending",
                "You ended your subscription: the key stopped working, and the final invoice follows once its last usage is counted.",
                null),
            { Status: SubscriberStatus.Cancelled } => ("Ended", "Your subscription has ended.", Button(context, "/account/subscribe", "subscribe", "Subscribe again")),
            { FreePlan: true } => (
                "Free plan",
                "Free up to the plan's quota, with no card and no bill. Subscribe to lift the limit: from then on usage is billed monthly through Stripe.",
                Button(context, "/account/subscribe", "subscribe", record.StripeCustomerId is null ? "Subscribe" : "Continue to payment")),
            { Status: SubscriberStatus.Active } when view.CapStopped => (
                "Paused by your spend cap",
                $"This billing period's charges reached your spend cap, so your key is paused {Until(record.PeriodEnd)} or until you raise the cap below.",
                null),
            { Status: SubscriberStatus.Active } => ("Active", "Usage is billed monthly through Stripe.", null),
            { Status: SubscriberStatus.Suspended } => ("Payment needed", "A payment failed, so the key is paused until it is paid.", null),
            _ when record.StripeCustomerId is not null => (
                "Waiting for payment",
                "Set up a payment method to start the subscription; your key is created when it starts.",
                Button(context, "/account/subscribe", "subscribe", "Continue to payment")),
            _ => (
                "Not subscribed",
                freePlanOpen ? "Start free, or subscribe to get your API key without the free plan's limit. Usage is billed monthly through Stripe." : "Subscribe to get your API key. Usage is billed monthly through Stripe.",
                Button(context, "/account/subscribe", "subscribe", "Subscribe")),
        };
        if (freePlanOpen)
        {
            action = Button(context, "/account/free", "start-free", "Start free")
                + "<p class=\"hint\">The free plan needs no card: your key works at once, up to the plan's quota.</p>"
                + action;
        }

        var cancel = record is { Status: SubscriberStatus.Active or SubscriberStatus.Suspended, EndRequestedAt: null, StripeSubscriptionId: not null }
            ? Button(context, "/account/cancel", "cancel-subscription", "Cancel subscription now", "secondary")
            : string.Empty;
        var billing = record is { StripeCustomerId: not null, StripeSubscriptionId: not null }
            ? Button(context, "/account/billing", "manage-billing", record.Status == SubscriberStatus.Suspended ? "Update payment method" : "Manage billing")
              + "<p class=\"hint\">Card, invoices, and cancelling at the end of the period, on Stripe's billing page.</p>"
            : string.Empty;
        return $"""
            <h2>Subscription</h2>
            <p>Status: <strong id="subscription-status">{Html.Encode(state)}</strong></p>
            <p id="subscription-detail">{Html.Encode(detail)}</p>
            {action}
            {billing}
            {cancel}
            """;
    }

    private static string Key(HttpContext context, AccountView view, PortalOptions options)
    {
        if (view.Key is not { } key)
        {
            return view.Record switch
            {
                { AwaitsKey: true, KeyRefusedAt: not null } => """
                    <h2>API key</h2>
                    <p id="api-key-activating" role="status">Your subscription is active, but your API key cannot be issued yet: the API has handed out all the keys it can for now. The seller has been alerted. You are not billed for anything until your key works; this page checks again every minute and shows the key, once, as soon as it is issued.</p>
                    """,
                { AwaitsKey: true } => """
                    <h2>API key</h2>
                    <p id="api-key-activating" role="status">Your API key is being activated. It usually takes a few seconds; this page reloads itself and shows the key, once, as soon as it is issued.</p>
                    """,
                _ => string.Empty,
            };
        }

        var rotate = ManageKeys.Rotatable(view.Record)
            ? Button(context, "/account/keys/rotate", "rotate-key", "Rotate key", "secondary")
              + string.Create(CultureInfo.InvariantCulture, $"<p class=\"hint\">Rotating gives you a new key at once; the current one keeps working for {options.KeyRotationOverlapHours} hours so you can switch over, or until you revoke it.</p>")
            : string.Empty;
        if (key.ValueOnce is { } value)
        {
            return $"""
                <h2>API key</h2>
                {Html.KeyBlock(value.Reveal(), key.Id)}
                {Html.CallExample(options.ApiBase(), value.Reveal())}
                {rotate}
                """;
        }

        var named = key.Hint is { } hint ? $"ending in <code id=\"api-key-hint\">{Html.Encode(hint)}</code>" : string.Empty;
        var deletion = view.Record is { Subscribed: false, KeyDeleteAt: { } deleteAt }
            ? string.Create(CultureInfo.InvariantCulture, $"<p id=\"api-key-deletion\">Your subscription has ended: this key is deleted on {deleteAt.UtcDateTime:yyyy-MM-dd} unless you subscribe again, which makes it work again.</p>")
            : string.Empty;
        return $"""
            <h2>API key</h2>
            <p>Key <code id="api-key-id">{Html.Encode(key.Id)}</code> {named}: <strong id="api-key-state">{(key.Works ? "works" : "does not work now")}</strong>.</p>
            {deletion}
            <p>For security the key's value is shown only once, when it is created.{(rotate.Length > 0 ? " Lost it? Rotate to get a new one." : string.Empty)}</p>
            {rotate}
            """;
    }

    /// <summary>Keys a rotation replaced: until when each works, and the button that stops one at once.</summary>
    private static string RetiredKeys(HttpContext context, Subscriber record)
    {
        if (record.RetiredKeys.Count == 0)
        {
            return string.Empty;
        }

        var rows = new StringBuilder();
        foreach (var retired in record.RetiredKeys)
        {
            var state = retired.DisabledAt is null && record.Subscribed
                ? string.Create(CultureInfo.InvariantCulture, $"works until {retired.RevokeAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC")
                : "stopped";
            var revoke = retired.DisabledAt is null && record.Subscribed
                ? $"<form method=\"post\" action=\"/account/keys/revoke\">{FormGuard.Field(context)}<input type=\"hidden\" name=\"keyId\" value=\"{Html.Encode(retired.Id)}\"><button type=\"submit\" class=\"secondary\" id=\"revoke-{Html.Encode(retired.Id)}\">Revoke now</button></form>"
                : string.Empty;
            rows.Append(CultureInfo.InvariantCulture, $"<li><code>{Html.Encode(retired.Id)}</code>: <span class=\"retired-state\">{Html.Encode(state)}</span>{revoke}</li>");
        }

        return $"""
            <h3>Previous keys</h3>
            <ul id="retired-keys">{rows}</ul>
            <p class="hint">A previous key bills to you while it works. Revoke it now if it leaked.</p>
            """;
    }

    private static string Usage(AccountView view)
    {
        if (view.Key is null)
        {
            return string.Empty;
        }

        if (view.Usage is not { } usage)
        {
            return "<h2>Usage</h2><p id=\"usage-unavailable\">Usage cannot be read right now. Try again in a minute.</p>";
        }

        var rows = new StringBuilder();
        foreach (var day in usage.Days.OrderByDescending(d => d.Day))
        {
            rows.Append(CultureInfo.InvariantCulture, $"<tr><td>{day.Day:yyyy-MM-dd}</td><td>{day.Used:N0}</td></tr>");
        }

        var remaining = (usage.LiveRead, usage.QuotaLeft) switch
        {
            (false, _) => "<p id=\"usage-live-unavailable\">Today's live count cannot be read right now; the numbers are as of the last hourly report.</p>",
            (true, 0) when view.Record.FreePlan => "<p id=\"usage-remaining\">Quota left in this period: 0 requests. You have used this month's free requests: the API answers 429 until the month ends (UTC). Subscribe to keep calling it.</p>",
            (true, { } left) => string.Create(CultureInfo.InvariantCulture, $"<p id=\"usage-remaining\">Quota left in this period: {left:N0} requests.</p>"),
            _ => string.Empty,
        };
        return string.Create(CultureInfo.InvariantCulture, $"""
            <h2>Usage</h2>
            <p>This month: <strong id="usage-month">{usage.Total:N0}</strong> {(usage.Total == 1 ? "request" : "requests")} (past days as billed at the hourly reports; today's count is live and can lag a few minutes).</p>
            {remaining}
            {(rows.Length == 0 ? string.Empty : $"<table id=\"usage-days\"><thead><tr><th scope=\"col\">Day (UTC)</th><th scope=\"col\">Requests</th></tr></thead><tbody>{rows}</tbody></table>")}
            """);
    }

    private static string Until(DateTimeOffset? periodEnd) => periodEnd is { } end
        ? string.Create(CultureInfo.InvariantCulture, $"until the next billing period begins ({end.UtcDateTime:yyyy-MM-dd HH:mm} UTC)")
        : "until the next billing period begins";

    /// <summary>A paying subscriber's charge this billing period, and the form that sets, changes or removes their cap.</summary>
    private static string SpendCap(HttpContext context, AccountView view)
    {
        if (view.Spend is not { } spend)
        {
            return string.Empty;
        }

        var currency = spend.Spent.Currency.ToUpperInvariant();
        var period = spend.PeriodEnd is { } end
            ? string.Create(CultureInfo.InvariantCulture, $"{spend.PeriodStart.UtcDateTime:yyyy-MM-dd} to {end.UtcDateTime:yyyy-MM-dd}")
            : string.Create(CultureInfo.InvariantCulture, $"since {spend.PeriodStart.UtcDateTime:yyyy-MM-dd}");
        var cap = spend.Cap is { } set
            ? $"<p id=\"spend-cap-state\">Your cap: <strong id=\"spend-cap\">{Html.Encode(set.ToString())}</strong> a billing period.</p>"
            : "<p id=\"spend-cap-state\">No cap is set: nothing stops your key whatever this period costs.</p>";
        return string.Create(CultureInfo.InvariantCulture, $"""
            <h2>Spend cap</h2>
            <p>This billing period ({period}, UTC): <strong id="spend-period">{Html.Encode(spend.Spent.ToString())}</strong> so far, for {spend.Units:N0} billed {(spend.Units == 1 ? "request" : "requests")} (as of the last hourly report).</p>
            {cap}
            <form method="post" action="/account/cap" id="spend-cap-form">
            {FormGuard.Field(context)}
            <label for="cap">Cap a billing period at ({Html.Encode(currency)})</label>
            <input type="text" id="cap" name="cap" inputmode="decimal" autocomplete="off" maxlength="20" value="{Html.Encode(spend.Cap?.MainUnits ?? string.Empty)}" aria-describedby="cap-hint">
            <button type="submit" id="set-cap">Save cap</button>
            </form>
            <p class="hint" id="cap-hint">When this period's charges reach the cap, your key pauses until the next period begins or until you raise the cap, and you get an e-mail. Requests served before the pause are still billed. Leave the field empty to remove the cap.</p>
            """);
    }

    private static string Button(HttpContext context, string action, string id, string label, string? cssClass = null) =>
        $"<form method=\"post\" action=\"{action}\">{FormGuard.Field(context)}<button type=\"submit\" id=\"{id}\"{(cssClass is null ? string.Empty : $" class=\"{cssClass}\"")}>{Html.Encode(label)}</button></form>";
}
