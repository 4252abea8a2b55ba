using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core.Registration;

namespace Monetization.Portal.Registration;

public sealed record RegistrationForm(string? Email, string? FirstName, string? LastName);

public sealed record RegisterRequestBody(
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("firstname")] string? FirstName,
    [property: JsonPropertyName("lastname")] string? LastName);

public sealed record RegisteredResponse(
    [property: JsonPropertyName("apiKeyId")] string ApiKeyId,
    [property: JsonPropertyName("apiKey")] string ApiKey);

public static class RegistrationEndpoints
{
    public const string RateLimitPolicy = "register";

    public static IEndpointRouteBuilder MapRegistration(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context, IAntiforgery antiforgery) => SignupPage.Render(context, antiforgery));
        app.MapPost("/register", RegisterAsync)
            .RequireRateLimiting(RateLimitPolicy)
            .DisableAntiforgery(); // validated below for form posts only: a JSON post cannot be forged cross-site without CORS.
        return app;
    }

    private static async Task<Results<Created<RegisteredResponse>, ValidationProblem, ProblemHttpResult, ContentHttpResult>> RegisterAsync(
        HttpContext context, IAntiforgery antiforgery, RegisterSubscriber flow, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.HasJsonContentType())
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

            var outcome = await flow.RegisterAsync(new RegistrationRequest(body?.Email, body?.FirstName, body?.LastName), cancellationToken);
            return outcome switch
            {
                RegistrationOutcome.Registered r => TypedResults.Created((string?)null, new RegisteredResponse(r.ApiKeyId, r.ApiKeyValue.Reveal())),
                RegistrationOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors, "Some fields need attention."),
                RegistrationOutcome.AlreadyRegistered => TypedResults.Problem(Messages.AlreadyRegistered, statusCode: StatusCodes.Status409Conflict, title: "Already registered"),
                RegistrationOutcome.InProgress => TypedResults.Problem(Messages.InProgress, statusCode: StatusCodes.Status409Conflict, title: "Registration in progress"),
                _ => throw Unlisted(outcome),
            };
        }

        if (request.HasFormContentType)
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return SignupPage.Render(context, antiforgery, message: "Your session expired. Please submit the form again.", statusCode: StatusCodes.Status400BadRequest);
            }

            var fields = await request.ReadFormAsync(cancellationToken);
            var form = new RegistrationForm(fields["email"], fields["firstname"], fields["lastname"]);
            var outcome = await flow.RegisterAsync(new RegistrationRequest(form.Email, form.FirstName, form.LastName), cancellationToken);
            return outcome switch
            {
                RegistrationOutcome.Registered r => SignupPage.Registered(r.ApiKeyId, r.ApiKeyValue.Reveal()),
                RegistrationOutcome.Invalid invalid => SignupPage.Render(context, antiforgery, form, invalid.Errors, "Some fields need attention.", StatusCodes.Status400BadRequest),
                RegistrationOutcome.AlreadyRegistered => SignupPage.Render(context, antiforgery, form, message: Messages.AlreadyRegistered, statusCode: StatusCodes.Status409Conflict),
                RegistrationOutcome.InProgress => SignupPage.Render(context, antiforgery, form, message: Messages.InProgress, statusCode: StatusCodes.Status409Conflict),
                _ => throw Unlisted(outcome),
            };
        }

        return TypedResults.Problem("Send the registration as JSON or as an HTML form post.", statusCode: StatusCodes.Status415UnsupportedMediaType);
    }

    /// <summary>A new outcome fails loudly until it gets its own answer here; it never falls into another's.</summary>
    private static System.Diagnostics.UnreachableException Unlisted(RegistrationOutcome outcome) =>
        new($"Registration has no answer for {outcome.GetType().Name}.");

    private static class Messages
    {
        public const string AlreadyRegistered = "This e-mail address is already registered. For security the existing key is never shown again; contact support if you lost it.";
        public const string InProgress = "A registration for this e-mail address is being processed. Wait a minute, then try again.";
    }
}

[JsonSerializable(typeof(RegisterRequestBody))]
[JsonSerializable(typeof(RegisteredResponse))]
internal sealed partial class PortalJsonContext : JsonSerializerContext;
