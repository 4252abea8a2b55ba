using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Aws.Ledger;
using Monetization.Aws.Secrets;
using Monetization.Core;
using Monetization.Http;
using Monetization.Portal.Accounts;
using Monetization.Portal.Billing;
using Monetization.Portal.Marketplace;
using Monetization.Portal.Pages;
using Monetization.Portal.Registration;
using Monetization.Stripe;

namespace Monetization.Portal.Hosting;

/// <summary>Builds the Portal. Program.cs, the offline sandbox and the tests all start it through here.</summary>
public static class PortalApp
{
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);
        builder.WebHost.ConfigureKestrel(ServerRejections.WatchConnections);
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // The request line of a buyer arriving by GET carries the Marketplace token, and this category logs request
        // lines. It stays off whatever levels the configuration asks for (a rule added here outranks an equally
        // specific configured one).
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        configure?.Invoke(builder);
        AddStripeSecrets(builder.Configuration);
        StartupTrace.Mark("configuration-loaded");
        builder.Services.AddPortalServices(builder.Configuration);
        builder.Services.AddStripeChannel();
        builder.Services.AddMarketplaceChannel(builder.Configuration);

        var app = builder.Build();
        ServerRejections.ListenForRejections(app.Services);
        StartupTrace.Mark("app-built");
        app.Lifetime.ApplicationStarted.Register(() => StartupTrace.Mark("listening"));
        app.UsePortalPipeline();
        app.MapGet("/healthz", () =>
        {
            StartupTrace.MarkOnce("first-healthz");
            return TypedResults.Text("ok");
        });
        app.MapStaticAssets();
        app.MapRegistration();
        app.MapSignIn();
        app.MapAccount();
        app.MapPricing();
        app.MapCheckout();
        app.MapStripeWebhook();
        app.MapMarketplaceLanding();
        return app;
    }

    /// <summary>
    /// In AWS the Stripe keys live in Secrets Manager (<c>Stripe:SecretArn</c>, a JSON secret with <c>SecretKey</c> and
    /// <c>WebhookSecret</c>), never in the template or the function's environment. A configuration source, so it is
    /// read while configuration is built, from the settings bound so far.
    /// </summary>
    private static void AddStripeSecrets(ConfigurationManager configuration) =>
        configuration.AddSecretsManagerJsonWhenNamed(StripeSettings.Section);

    private static void AddPortalServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PortalOptions>().BindConfiguration(PortalOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddProblemDetails();
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.AddPolicy(RegistrationEndpoints.RateLimitPolicy, context => PerClientPerMinute(context, p => p.RegisterPermitsPerMinute));
            o.AddPolicy(MarketplaceLandingEndpoints.RateLimitPolicy, context => PerClientPerMinute(context, p => p.MarketplacePermitsPerMinute));
            o.AddPolicy(AccountEndpoints.RateLimitPolicy, context => PerClientPerMinute(context, p => p.AccountPermitsPerMinute));
            o.OnRejected = (context, cancellationToken) =>
            {
                // The limiter knows when this address's window reopens; a client told so waits no longer than needed.
                var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                // A refused page view (the account page waiting for a key reloads itself) comes back by itself once the
                // window reopens; a refused form post is left to the person, as repeating it is theirs to decide.
                var get = HttpMethods.IsGet(context.HttpContext.Request.Method);
                return new ValueTask(ErrorResponses.WriteAsync(
                    context.HttpContext,
                    StatusCodes.Status429TooManyRequests,
                    "Too many requests",
                    get
                        ? $"Too many requests from your address. This page tries again by itself in {seconds} seconds."
                        : $"Too many requests from your address. Try again in {seconds} seconds.",
                    refreshSeconds: get ? seconds : null));
            };
        });

        services.AddAwsSettings();
        services.AddAwsApiGateway();
        services.AddAwsSes();

        // First keys are asked of the key minting queue, never made on a person's request.
        services.AddAwsKeyMintQueue();
        services.AddDynamoDbLedger(sp => sp.GetRequiredService<IOptions<PortalOptions>>().Value.LedgerTableName);
    }

    private static RateLimitPartition<string> PerClientPerMinute(HttpContext context, Func<PortalOptions, int> permits) =>
        RateLimitPartition.GetFixedWindowLimiter(
            ClientAddress(context),
            _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = permits(context.RequestServices.GetRequiredService<IOptions<PortalOptions>>().Value),
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            });

    private static void UsePortalPipeline(this WebApplication app)
    {
        app.UseRequestScope();
        // Options are read when the first request arrives: validation belongs to start-up (ValidateOnStart), which
        // reports every missing setting by name, not to building the pipeline.
        var options = new Lazy<PortalOptions>(() => app.Services.GetRequiredService<IOptions<PortalOptions>>().Value);
        app.UseTrustedClient(options);
        app.UseSecurityHeaders(new Lazy<string>(() => SecurityHeaders.PagePolicy(StripePageOrigins(app.Services))));
        app.UseHeadAsGet();

        // Explicit, so endpoints are matched after HEAD became GET (WebApplication would otherwise route first).
        app.UseRouting();
        app.UseFailurePages();
        app.UseStatusCodePages(context =>
        {
            var status = context.HttpContext.Response.StatusCode;
            return ErrorResponses.WriteAsync(context.HttpContext, status, ReasonPhrases.GetReasonPhrase(status), StatusDetail(status));
        });
        app.UseCallBudget(options);
        app.UseBodyLimits(options);
        app.UseRateLimiter();
    }

    /// <summary>One logging scope per request with its API Gateway request id and X-Ray trace id, when it has them.</summary>
    private static void UseRequestScope(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Monetization.Portal.Request");
        app.Use(async (context, next) =>
        {
            using var scope = RequestScope.From(context.Request) is { } ids ? logger.BeginScope(ids) : null;
            await next(context);
        });
    }

    /// <summary>
    /// HEAD is GET without the body (RFC 9110): routed as GET, so every page and asset answers it with GET's status
    /// and headers, and the body is dropped whatever server runs the Portal.
    /// </summary>
    private static void UseHeadAsGet(this WebApplication app) => app.Use(async (context, next) =>
    {
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await next(context);
            return;
        }

        context.Request.Method = HttpMethods.Get;
        var body = context.Response.Body;
        context.Response.Body = Stream.Null;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = body;
            context.Request.Method = HttpMethods.Head;
        }
    });

    private static string StatusDetail(int status) => status switch
    {
        StatusCodes.Status404NotFound => "There is no page at this address.",
        StatusCodes.Status405MethodNotAllowed => "This address does not answer that kind of request.",
        _ => "The request could not be completed.",
    };

    /// <summary>
    /// Every request's outside calls share <see cref="PortalOptions.RequestBudgetSeconds"/>, and the clean-up after a
    /// failure gets <see cref="PortalOptions.CleanupReserveSeconds"/> more; the request's token is cancelled at the end
    /// of both, so the function answers before its own timeout stops it.
    /// </summary>
    private static void UseCallBudget(this WebApplication app, Lazy<PortalOptions> options)
    {
        var time = app.Services.GetRequiredService<TimeProvider>();
        app.Use(async (context, next) =>
        {
            var budget = TimeSpan.FromSeconds(options.Value.RequestBudgetSeconds);
            var reserve = TimeSpan.FromSeconds(options.Value.CleanupReserveSeconds);
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            stop.CancelAfter(budget + reserve);
            context.RequestAborted = stop.Token;
            using (CallBudget.Begin(time, budget, reserve))
            {
                await next(context);
            }
        });
    }

    /// <summary>Stripe's hosted pages, and the origin of a Stripe stand-in that serves its own (the offline sandbox's).</summary>
    private static IEnumerable<string> StripePageOrigins(IServiceProvider services)
    {
        var apiBase = services.GetRequiredService<IOptions<StripeSettings>>().Value.ApiBase;
        return apiBase is null || apiBase.Host.EndsWith(".stripe.com", StringComparison.OrdinalIgnoreCase)
            ? SecurityHeaders.StripeHostedPages
            : [.. SecurityHeaders.StripeHostedPages, apiBase.GetLeftPart(UriPartial.Authority)];
    }

    /// <summary>The address <see cref="TrustedClient"/> settled on: the connection's, or API Gateway's word for it.</summary>
    private static string ClientAddress(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address ? address.ToString() : IPAddress.None.ToString();
}
