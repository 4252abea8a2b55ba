using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.Extensions.Options;
using Monetization.Core.Registration;
using Monetization.Portal.Billing;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Registration;

public sealed record RegistrationForm(string? Email, string? FirstName, string? LastName);

public sealed record RegisterRequestBody(
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("firstname")] string? FirstName,
    [property: JsonPropertyName("lastname")] string? LastName);

/// <param name="Status"><c>active</c>, or <c>awaiting_payment</c>: the key works once <see cref="CheckoutUrl"/> is paid.</param>
public sealed record RegisteredResponse(
    [property: JsonPropertyName("apiKeyId")] string ApiKeyId,
    [property: JsonPropertyName("apiKey")] string ApiKey,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("checkoutUrl")] string? CheckoutUrl = null);

public static class RegistrationEndpoints
{
    public const string RateLimitPolicy = "register";

    public static IEndpointRouteBuilder MapRegistration(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context, IAntiforgery antiforgery, IOptions<PortalOptions> portal) => SignupPage.Render(context, antiforgery, portal.Value));
        app.MapPost("/register", RegisterAsync)
            .RequireRateLimiting(RateLimitPolicy)
            .DisableAntiforgery(); // validated below for form posts only: a JSON post cannot be forged cross-site without CORS.
        return app;
    }

    /// <summary>A registration comes as JSON (API clients) or as the signup page's form; anything else is refused.</summary>
    private static async Task<IResult> RegisterAsync(
        HttpContext context, IAntiforgery antiforgery, RegisterSubscriber flow, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.HasJsonContentType())
        {
            return await RegisterJsonAsync(request, flow, portal.Value, cancellationToken);
        }

        if (request.HasFormContentType)
        {
            return await RegisterFormAsync(context, antiforgery, flow, portal.Value, cancellationToken);
        }

        return TypedResults.Problem("Send the registration as JSON or as an HTML form post.", statusCode: StatusCodes.Status415UnsupportedMediaType);
    }

    private static async Task<IResult> RegisterJsonAsync(
        HttpRequest request, RegisterSubscriber flow, PortalOptions options, CancellationToken cancellationToken)
    {
        RegisterRequestBody? body;
        try
        {
            body = await request.ReadFromJsonAsync(PortalJsonContext.Default.RegisterRequestBody, cancellationToken);
        }
        catch (System.Text.Json.JsonException)
        {
            return TypedResults.Problem("The request body is not valid JSON with string fields email, firstname and lastname.", statusCode: StatusCodes.Status400BadRequest);
        }

        var outcome = await flow.RegisterAsync(new RegistrationRequest(body?.Email, body?.FirstName, body?.LastName, CheckoutEndpoints.ReturnFor(request)), cancellationToken);
        return JsonAnswer(outcome, options);
    }

    private static async Task<IResult> RegisterFormAsync(
        HttpContext context, IAntiforgery antiforgery, RegisterSubscriber flow, PortalOptions options, CancellationToken cancellationToken)
    {
        // Read before the antiforgery check, which would otherwise throw on a body that cannot be decoded.
        var fields = await FormInput.TryReadAsync(context.Request, cancellationToken);
        if (fields is null)
        {
            return SignupPage.Render(context, antiforgery, options, message: "The form could not be read. Please fill it in again.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (!await antiforgery.IsRequestValidAsync(context))
        {
            return SignupPage.Render(context, antiforgery, options, message: "Your session expired. Please submit the form again.", statusCode: StatusCodes.Status400BadRequest);
        }

        var unreadable = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var form = new RegistrationForm(Field(fields, "email", unreadable), Field(fields, "firstname", unreadable), Field(fields, "lastname", unreadable));
        if (unreadable.Count > 0)
        {
            return SignupPage.Render(context, antiforgery, options, form, unreadable, "Some fields need attention.", StatusCodes.Status400BadRequest);
        }

        var outcome = await flow.RegisterAsync(new RegistrationRequest(form.Email, form.FirstName, form.LastName, CheckoutEndpoints.ReturnFor(context.Request)), cancellationToken);
        return PageAnswer(outcome, context, antiforgery, options, form);
    }

    /// <summary>The API client's answer to each outcome.</summary>
    private static IResult JsonAnswer(RegistrationOutcome outcome, PortalOptions options) => outcome switch
    {
        RegistrationOutcome.Registered r => TypedResults.Created((string?)null, new RegisteredResponse(r.ApiKeyId, r.ApiKeyValue.Reveal(), "active")),
        RegistrationOutcome.AwaitingPayment r => TypedResults.Created((string?)null, new RegisteredResponse(r.ApiKeyId, r.ApiKeyValue.Reveal(), "awaiting_payment", r.CheckoutUrl.ToString())),
        RegistrationOutcome.PaymentPending pending => TypedResults.Problem(
            Messages.PaymentPending,
            statusCode: StatusCodes.Status409Conflict,
            title: "Payment pending",
            extensions: new Dictionary<string, object?>(StringComparer.Ordinal) { ["checkoutUrl"] = pending.CheckoutUrl.ToString() }),
        RegistrationOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors, "Some fields need attention."),
        RegistrationOutcome.AlreadyRegistered => TypedResults.Problem(Messages.AlreadyRegistered(options), statusCode: StatusCodes.Status409Conflict, title: "Already registered"),
        RegistrationOutcome.InProgress => TypedResults.Problem(Messages.InProgress, statusCode: StatusCodes.Status409Conflict, title: "Registration in progress"),
        _ => throw Unlisted(outcome),
    };

    /// <summary>The signup page's answer to each outcome.</summary>
    private static IResult PageAnswer(RegistrationOutcome outcome, HttpContext context, IAntiforgery antiforgery, PortalOptions options, RegistrationForm form) => outcome switch
    {
        RegistrationOutcome.Registered r => SignupPage.Registered(r.ApiKeyId, r.ApiKeyValue.Reveal(), options),
        RegistrationOutcome.AwaitingPayment r => SignupPage.AwaitingPayment(r.ApiKeyId, r.ApiKeyValue.Reveal(), r.CheckoutUrl, options),
        RegistrationOutcome.PaymentPending pending => SignupPage.PaymentPending(pending.CheckoutUrl, options),
        RegistrationOutcome.Invalid invalid => SignupPage.Render(context, antiforgery, options, form, invalid.Errors, "Some fields need attention.", StatusCodes.Status400BadRequest),
        RegistrationOutcome.AlreadyRegistered => SignupPage.Render(context, antiforgery, options, form, message: Messages.AlreadyRegistered(options), statusCode: StatusCodes.Status409Conflict),
        RegistrationOutcome.InProgress => SignupPage.Render(context, antiforgery, options, form, message: Messages.InProgress, statusCode: StatusCodes.Status409Conflict),
        _ => throw Unlisted(outcome),
    };

    private static string? Field(IFormCollection fields, string name, Dictionary<string, string[]> unreadable)
    {
        if (FormInput.Problem(fields, name, out var value) is { } problem)
        {
            unreadable[name] = [problem];
        }

        return value;
    }

    /// <summary>A new outcome fails loudly until it gets its own answer here; it never falls into another's.</summary>
    private static System.Diagnostics.UnreachableException Unlisted(RegistrationOutcome outcome) =>
        new($"Registration has no answer for {outcome.GetType().Name}.");

    private static class Messages
    {
        public static string AlreadyRegistered(PortalOptions options) => options.SupportContact is { Length: > 0 } contact
            ? $"This e-mail address is already registered. For security the existing key is never shown again; if you lost it, contact support at {Support(contact)}."
            : "This e-mail address is already registered. For security the existing key is never shown again.";

        private static string Support(string contact) =>
            contact.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) ? contact["mailto:".Length..] : contact;
        public const string InProgress = "A registration for this e-mail address is being processed. Wait a minute, then try again.";

        public const string PaymentPending = "This e-mail address is registered and waiting for payment. Continue to payment to activate the key you were shown at signup; for security it is never shown again.";
    }
}

// A body naming a field twice is ambiguous: refused rather than read as whichever came last.
[JsonSourceGenerationOptions(AllowDuplicateProperties = false)]
[JsonSerializable(typeof(RegisterRequestBody))]
[JsonSerializable(typeof(RegisteredResponse))]
internal sealed partial class PortalJsonContext : JsonSerializerContext;
