using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core.Accounts;
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
        PortalOptions options,
        RegistrationForm? form = null,
        IReadOnlyDictionary<string, string[]>? errors = null,
        string? message = null,
        int statusCode = StatusCodes.Status200OK)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Sign up or sign in", $"""
            <div id="signup-view">
            <h1>Get an API key</h1>
            <p>Sign up to call the API at <code>{Html.Encode(options.ApiBase().ToString())}</code>. <a href="/pricing" id="see-pricing">See the plans and prices</a>.</p>
            <p>Enter your e-mail address: we send you a link that signs you in. Already signed up? The same form signs you in to your account, where your keys, usage and billing are.</p>
            <div id="signup-message" aria-live="polite">{(message is null ? string.Empty : $"<p class=\"error\" role=\"alert\">{Html.Encode(message)}</p>")}</div>
            <form id="signup" method="post" action="/register" novalidate>
            {FormGuard.Field(context)}
            {Field("email", "E-mail", "email", "email", EmailMaxLength, form?.Email, errors)}
            {Field("firstname", "First name", "text", "given-name", PersonName.MaxLength, form?.FirstName, errors)}
            {Field("lastname", "Last name", "text", "family-name", PersonName.MaxLength, form?.LastName, errors)}
            {Chosen(form?.Plan)}
            <button type="submit">Send me a sign-in link</button>
            </form>
            {Html.Support(options.SupportContact)}
            </div>
            <section id="result" hidden tabindex="-1" aria-labelledby="result-heading"></section>
            """, statusCode);
    }

    /// <summary>The plan a pricing page link chose (<c>?plan=free</c> or <c>?plan=paid</c>), or null for any other query.</summary>
    public static string? PlanFrom(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return PlanChoices.NameOf(PlanChoices.Parse(request.Query["plan"].ToString()) ?? PlanChoice.None);
    }

    /// <summary>The chosen plan, said and carried by the form (the sign-in link starts it).</summary>
    private static string Chosen(string? plan)
    {
        var said = PlanChoices.Parse(plan) switch
        {
            PlanChoice.Free => "You chose the free plan: your key is made as soon as you sign in with the link, with no card.",
            PlanChoice.Paid => "You chose to pay as you go: after you sign in with the link, your account page takes you to Stripe's checkout.",
            _ => null,
        };
        return said is null ? string.Empty : $"""<input type="hidden" name="plan" value="{Html.Encode(plan!)}"><p id="chosen-plan">{Html.Encode(said)}</p>""";
    }

    /// <summary>The answer to every valid request, whatever the address's state; the script's view shows the same.</summary>
    public static ContentHttpResult Sent(PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Html.Page("Check your inbox", $"""
            <section id="result" tabindex="-1" aria-labelledby="result-heading">
            <h1 id="result-heading" tabindex="-1" data-autofocus>Check your inbox</h1>
            <p id="sent-note">{Html.Encode(RegistrationEndpoints.Messages.Sent)}</p>
            <p>No e-mail after a few minutes? Check your spam folder, or <a href="/">ask for a new link</a>.</p>
            {Html.Support(options.SupportContact)}
            </section>
            """);
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
