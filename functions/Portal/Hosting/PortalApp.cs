using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Core;
using Monetization.Core.Registration;
using Monetization.Portal.Registration;
using Monetization.Stripe;

namespace Monetization.Portal.Hosting;

/// <summary>Builds the Portal. Program.cs, the offline sandbox and the tests all start it through here.</summary>
public static class PortalApp
{
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = false);
        configure?.Invoke(builder);
        builder.Services.AddPortalServices(builder.Configuration);

        var app = builder.Build();
        app.UsePortalPipeline();
        app.MapGet("/healthz", () => TypedResults.Text("ok"));
        app.MapRegistration();
        return app;
    }

    private static void AddPortalServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PortalOptions>().BindConfiguration(PortalOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var portal = configuration.GetSection(PortalOptions.Section).Get<PortalOptions>() ?? new PortalOptions();
        var aws = configuration.GetSection(AwsSettings.Section).Get<AwsSettings>() ?? new AwsSettings();

        services.AddProblemDetails();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "__Host-antiforgery";
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__antiforgery";
        });
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RegistrationEndpoints.RateLimitPolicy, context => RateLimitPartition.GetFixedWindowLimiter(
                ClientAddress(context),
                _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = context.RequestServices.GetRequiredService<IOptions<PortalOptions>>().Value.RegisterPermitsPerMinute,
                    Window = TimeSpan.FromMinutes(1),
                    QueueLimit = 0,
                }));
            o.OnRejected = (context, cancellationToken) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                return new ValueTask(TypedResults.Problem("Too many registrations from your address. Try again in a minute.", statusCode: StatusCodes.Status429TooManyRequests)
                    .ExecuteAsync(context.HttpContext));
            };
        });

        void ConfigureAws(AwsClientOptions o)
        {
            o.Region = aws.Region ?? o.Region;
            o.ServiceUrl = aws.ServiceUrl ?? o.ServiceUrl;
        }

        services.AddAwsApiGateway(ConfigureAws);
        services.AddDynamoDbLedger(portal.LedgerTableName is { Length: > 0 } table ? table : "unset", aws.ServiceUrl, aws.Region);
        services.AddStripeBilling(o =>
        {
            var stripe = configuration.GetSection("Stripe");
            o.SecretKey = stripe["SecretKey"] is { Length: > 0 } key ? new Secret(key) : null;
            o.PriceId = stripe["PriceId"] ?? string.Empty;
            o.MeterEventName = stripe["MeterEventName"] ?? string.Empty;
            if (stripe["ApiBase"] is { Length: > 0 } apiBase)
            {
                o.ApiBase = new Uri(apiBase);
            }
        });
        services.AddSingleton(sp => new RegistrationOptions { StripeUsagePlanId = sp.GetRequiredService<IOptions<PortalOptions>>().Value.StripeUsagePlanId });
        services.AddTransient<RegisterSubscriber>();
    }

    private static void UsePortalPipeline(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<PortalOptions>>().Value;
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseSecurityHeaders();
        app.Use(async (context, next) =>
        {
            // One limit whatever the server: Kestrel locally, the Lambda adapter in AWS, the test host in tests.
            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = options.MaxRequestBodyBytes;
            }

            if (context.Request.ContentLength > options.MaxRequestBodyBytes)
            {
                await TypedResults.Problem("The request body is too large.", statusCode: StatusCodes.Status413PayloadTooLarge).ExecuteAsync(context);
                return;
            }

            await next(context);
        });
        app.UseStaticFiles();
        app.UseRateLimiter();
        app.UseAntiforgery();
    }

    private static string ClientAddress(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address ? address.ToString() : IPAddress.None.ToString();
}
