using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Monetization.Core.Accounts;
using Monetization.Portal.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Registration;

/// <param name="Plan">The pricing page's choice (a hidden field), or null.</param>
public sealed record RegistrationForm(string? Email, string? FirstName, string? LastName, string? Plan = null);

public sealed record RegisterRequestBody(
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("firstname")] string? FirstName,
    [property: JsonPropertyName("lastname")] string? LastName,
    [property: JsonPropertyName("plan")] string? Plan = null);

/// <param name="Status">Always <c>check_inbox</c>: a sign-in link is on its way, whatever the address's state.</param>
public sealed record SignInLinkSentResponse(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("detail")] string Detail);

/// <summary>
/// <c>POST /register</c>: signing up and signing in again are one request, answered alike for every address, which
/// e-mails a single-use sign-in link (<see cref="RequestSignIn"/>). Nothing else exists until the link is used.
/// </summary>
public static class RegistrationEndpoints
{
    public const string RateLimitPolicy = "register";

    public const string SentPath = "/signin/sent";

    public static IEndpointRouteBuilder MapRegistration(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext context, IOptions<PortalOptions> portal) =>
            SignupPage.Render(context, portal.Value, new RegistrationForm(null, null, null, SignupPage.PlanFrom(context.Request))));
        app.MapGet(SentPath, (IOptions<PortalOptions> portal) => SignupPage.Sent(portal.Value));
        app.MapPost("/register", RegisterAsync)
            .RequireRateLimiting(RateLimitPolicy); // the form guard is checked below for form posts: a JSON post cannot be forged cross-site without CORS.
        return app;
    }

    /// <summary>A request comes as JSON (API clients) or as the signup page's form; anything else is refused.</summary>
    private static async Task<IResult> RegisterAsync(HttpContext context, RequestSignIn flow, IOptions<PortalOptions> portal, CancellationToken cancellationToken)
    {
        var request = context.Request;
        if (request.HasJsonContentType())
        {
            return await RegisterJsonAsync(request, flow, cancellationToken);
        }

        if (request.HasFormContentType)
        {
            return await RegisterFormAsync(context, flow, portal.Value, cancellationToken);
        }

        return TypedResults.Problem("Send the registration as JSON or as an HTML form post.", statusCode: StatusCodes.Status415UnsupportedMediaType);
    }

    private static async Task<IResult> RegisterJsonAsync(HttpRequest request, RequestSignIn flow, CancellationToken cancellationToken)
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

        var outcome = await flow.RequestAsync(new SignInLinkRequest(body?.Email, body?.FirstName, body?.LastName, SignInEndpoints.SignInUrl(request), body?.Plan), cancellationToken);
        return JsonAnswer(outcome, request.HttpContext);
    }

    private static async Task<IResult> RegisterFormAsync(HttpContext context, RequestSignIn flow, PortalOptions options, CancellationToken cancellationToken)
    {
        var fields = await FormInput.TryReadAsync(context.Request, cancellationToken);
        if (fields is null)
        {
            return SignupPage.Render(context, options, message: "The form could not be read. Please fill it in again.", statusCode: StatusCodes.Status400BadRequest);
        }

        if (!FormGuard.IsValid(context, fields))
        {
            return SignupPage.Render(context, options, message: "Your session expired. Please submit the form again.", statusCode: StatusCodes.Status400BadRequest);
        }

        var unreadable = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var form = new RegistrationForm(
            Field(fields, "email", unreadable),
            Field(fields, "firstname", unreadable),
            Field(fields, "lastname", unreadable),
            fields.ContainsKey("plan") ? Field(fields, "plan", unreadable) : null);
        if (unreadable.Count > 0)
        {
            return SignupPage.Render(context, options, form, unreadable, "Some fields need attention.", StatusCodes.Status400BadRequest);
        }

        var outcome = await flow.RequestAsync(new SignInLinkRequest(form.Email, form.FirstName, form.LastName, SignInEndpoints.SignInUrl(context.Request), form.Plan), cancellationToken);
        return PageAnswer(outcome, context, options, form);
    }

    /// <summary>The API client's answer to each outcome.</summary>
    private static IResult JsonAnswer(SignInLinkOutcome outcome, HttpContext context) => outcome switch
    {
        SignInLinkOutcome.Sent => TypedResults.Json(new SignInLinkSentResponse("check_inbox", Messages.Sent), PortalJsonContext.Default.SignInLinkSentResponse, statusCode: StatusCodes.Status202Accepted),
        SignInLinkOutcome.Invalid invalid => TypedResults.ValidationProblem(invalid.Errors, "Some fields need attention."),
        SignInLinkOutcome.Busy busy => Busy(context, busy, () => TypedResults.Problem(Messages.Busy(busy.RetryAfter), statusCode: StatusCodes.Status503ServiceUnavailable, title: "Too many sign-ups right now")),
        _ => throw Unlisted(outcome),
    };

    /// <summary>The signup page's answer to each outcome; a sent link redirects, so a reload sends no second one.</summary>
    private static IResult PageAnswer(SignInLinkOutcome outcome, HttpContext context, PortalOptions options, RegistrationForm form) => outcome switch
    {
        SignInLinkOutcome.Sent => SeeOther.To(SentPath),
        SignInLinkOutcome.Invalid invalid => SignupPage.Render(context, options, form, invalid.Errors, "Some fields need attention.", StatusCodes.Status400BadRequest),
        SignInLinkOutcome.Busy busy => Busy(context, busy, () => SignupPage.Render(context, options, form, message: Messages.Busy(busy.RetryAfter), statusCode: StatusCodes.Status503ServiceUnavailable)),
        _ => throw Unlisted(outcome),
    };

    private static IResult Busy(HttpContext context, SignInLinkOutcome.Busy busy, Func<IResult> answer)
    {
        context.Response.Headers.RetryAfter = Seconds(busy.RetryAfter).ToString(CultureInfo.InvariantCulture);
        return answer();
    }

    private static int Seconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));

    private static string? Field(IFormCollection fields, string name, Dictionary<string, string[]> unreadable)
    {
        if (FormInput.Problem(fields, name, out var value) is { } problem)
        {
            unreadable[name] = [problem];
        }

        return value;
    }

    /// <summary>A new outcome fails loudly until it gets its own answer here; it never falls into another's.</summary>
    private static System.Diagnostics.UnreachableException Unlisted(SignInLinkOutcome outcome) =>
        new($"Registration has no answer for {outcome.GetType().Name}.");

    internal static class Messages
    {
        public const string Sent = "Check your inbox: we sent a sign-in link to the address you entered. It works once, for a short time.";

        public static string Busy(TimeSpan wait) =>
            $"Too many people are signing up right now. Try again in {Seconds(wait)} seconds.";
    }
}

// A body naming a field twice is ambiguous: refused rather than read as whichever came last.
[JsonSourceGenerationOptions(AllowDuplicateProperties = false)]
[JsonSerializable(typeof(RegisterRequestBody))]
[JsonSerializable(typeof(SignInLinkSentResponse))]
internal sealed partial class PortalJsonContext : JsonSerializerContext;
