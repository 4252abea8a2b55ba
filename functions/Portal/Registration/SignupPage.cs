using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Registration;

public static class SignupPage
{
    public static ContentHttpResult Render(HttpContext context, IAntiforgery antiforgery, RegistrationForm? form = null, IReadOnlyDictionary<string, string[]>? errors = null, string? message = null, int statusCode = StatusCodes.Status200OK)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Html.Page("Sign up", $"""
            <h1>Get an API key</h1>
            <p>Sign up to call the API. Usage is billed monthly through Stripe.</p>
            {(message is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{Html.Encode(message)}</p>")}
            <form id="signup" method="post" action="/register" novalidate>
            <input type="hidden" name="{Html.Encode(tokens.FormFieldName)}" value="{Html.Encode(tokens.RequestToken)}">
            {Field("email", "E-mail", "email", "email", form?.Email, errors)}
            {Field("firstname", "First name", "text", "given-name", form?.FirstName, errors)}
            {Field("lastname", "Last name", "text", "family-name", form?.LastName, errors)}
            <button type="submit">Create my API key</button>
            </form>
            <section id="result" hidden></section>
            """, statusCode);
    }

    public static ContentHttpResult Registered(string apiKeyId, string apiKeyValue) => Html.Page("Your API key", $"""
        <h1>You're signed up</h1>
        {Html.KeyBlock(apiKeyValue)}
        <p>Send it in the <code>x-api-key</code> header of every request. Key id: <code>{Html.Encode(apiKeyId)}</code>.</p>
        """, StatusCodes.Status201Created);

    private static string Field(string name, string label, string type, string autocomplete, string? value, IReadOnlyDictionary<string, string[]>? errors)
    {
        var error = errors is not null && errors.TryGetValue(name, out var messages) ? string.Join(" ", messages) : null;
        var describedBy = error is null ? string.Empty : $" aria-invalid=\"true\" aria-describedby=\"{name}-error\"";
        var errorText = error is null ? string.Empty : $"<span class=\"field-error\" id=\"{name}-error\">{Html.Encode(error)}</span>";
        return $"""
            <div class="field">
            <label for="{name}">{label}</label>
            <input id="{name}" name="{name}" type="{type}" autocomplete="{autocomplete}" required maxlength="254" value="{Html.Encode(value)}"{describedBy}>
            {errorText}
            </div>
            """;
    }
}
