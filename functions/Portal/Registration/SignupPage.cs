using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core.Registration;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Registration;

public static class SignupPage
{
    /// <summary>RFC 5321's limit on an address, which the server's e-mail check applies too.</summary>
    private const int EmailMaxLength = 254;

    public static ContentHttpResult Render(
        HttpContext context,
        IAntiforgery antiforgery,
        PortalOptions options,
        RegistrationForm? form = null,
        IReadOnlyDictionary<string, string[]>? errors = null,
        string? message = null,
        int statusCode = StatusCodes.Status200OK)
    {
        ArgumentNullException.ThrowIfNull(antiforgery);
        ArgumentNullException.ThrowIfNull(options);
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Html.Page("Sign up", $"""
            <div id="signup-view">
            <h1>Get an API key</h1>
            <p>Sign up to call the API at <code>{Html.Encode(options.ApiBase().ToString())}</code>. Usage is billed monthly through Stripe.</p>
            <div id="signup-message" aria-live="polite">{(message is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{Html.Encode(message)}</p>")}</div>
            <form id="signup" method="post" action="/register" novalidate data-api-base="{Html.Encode(options.ApiBase().ToString())}">
            <input type="hidden" name="{Html.Encode(tokens.FormFieldName)}" value="{Html.Encode(tokens.RequestToken)}">
            {Field("email", "E-mail", "email", "email", EmailMaxLength, form?.Email, errors)}
            {Field("firstname", "First name", "text", "given-name", PersonName.MaxLength, form?.FirstName, errors)}
            {Field("lastname", "Last name", "text", "family-name", PersonName.MaxLength, form?.LastName, errors)}
            <button type="submit">Create my API key</button>
            </form>
            {Html.Support(options.SupportContact)}
            </div>
            <section id="result" hidden tabindex="-1" aria-labelledby="result-heading"></section>
            """, statusCode);
    }

    /// <summary>The result page of a form post without JavaScript; the script's success view shows the same.</summary>
    public static ContentHttpResult Registered(string apiKeyId, string apiKeyValue, PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Your API key", $"""
            <section id="result" tabindex="-1" aria-labelledby="result-heading">
            <h1 id="result-heading" tabindex="-1" data-autofocus>Your API key is ready</h1>
            {Html.KeyBlock(apiKeyValue, apiKeyId)}
            {Html.CallExample(options.ApiBase(), apiKeyValue)}
            {Html.Support(options.SupportContact)}
            </section>
            """, StatusCodes.Status201Created);
    }

    /// <summary>
    /// Checkout collection: the key is shown here, once, and works after payment. The result page of a form post
    /// without JavaScript; the script's success view shows the same.
    /// </summary>
    public static ContentHttpResult AwaitingPayment(string apiKeyId, string apiKeyValue, Uri checkoutUrl, PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(checkoutUrl);
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Your API key", $"""
            <section id="result" tabindex="-1" aria-labelledby="result-heading">
            <h1 id="result-heading" tabindex="-1" data-autofocus>Your API key: one step left</h1>
            {Html.KeyBlock(apiKeyValue, apiKeyId)}
            <p class="warning" id="activation-note">The key is disabled until a payment method is set up. Usage is billed monthly through Stripe.</p>
            <p><a class="button" id="continue-to-payment" href="{Html.Encode(checkoutUrl.ToString())}">Continue to payment</a></p>
            {Html.CallExample(options.ApiBase(), apiKeyValue)}
            {Html.Support(options.SupportContact)}
            </section>
            """, StatusCodes.Status201Created);
    }

    /// <summary>A second registration of an e-mail that has not paid yet: the way back to payment, never the key.</summary>
    public static ContentHttpResult PaymentPending(Uri checkoutUrl, PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(checkoutUrl);
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Payment pending", $"""
            <section id="result" tabindex="-1" aria-labelledby="result-heading">
            <h1 id="result-heading" tabindex="-1" data-autofocus>Payment pending</h1>
            <p>This e-mail address is registered and waiting for payment. The key you were shown at signup works once a payment method is set up; for security it is never shown again.</p>
            <p><a class="button" id="continue-to-payment" href="{Html.Encode(checkoutUrl.ToString())}">Continue to payment</a></p>
            {Html.Support(options.SupportContact)}
            </section>
            """, StatusCodes.Status409Conflict);
    }

    private static string Field(string name, string label, string type, string autocomplete, int maxLength, string? value, IReadOnlyDictionary<string, string[]>? errors)
    {
        var error = errors is not null && errors.TryGetValue(name, out var messages) ? string.Join(" ", messages) : null;
        var describedBy = error is null ? string.Empty : $" aria-invalid=\"true\" aria-describedby=\"{name}-error\"";
        var errorText = error is null ? string.Empty : $"<span class=\"field-error\" id=\"{name}-error\">{Html.Encode(error)}</span>";
        return $"""
            <div class="field">
            <label for="{name}">{label}</label>
            <input id="{name}" name="{name}" type="{type}" autocomplete="{autocomplete}" required maxlength="{maxLength}" value="{Html.Encode(value)}"{describedBy}>
            {errorText}
            </div>
            """;
    }
}
