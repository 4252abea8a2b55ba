using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Monetization.Aws;
using Monetization.Core;
using Monetization.Core.Billing;
using Monetization.Core.Idempotency;
using Monetization.Core.Accounts;
using Monetization.Portal.Hosting;
using Monetization.Stripe;
using Monetization.Stripe.Webhooks;

namespace Monetization.Portal.Billing;

/// <summary>
/// The Stripe channel's part of the Portal: its settings (the usage plan from <c>Monetization</c>, the Stripe keys from
/// <c>Stripe</c>, idempotency from <c>Monetization:Idempotency</c>), the Stripe client, and the sign-in, account, checkout
/// and webhook flows. The hosting around it (AWS clients, the ledger, the pipeline) is <see cref="PortalApp"/>'s.
/// </summary>
public static class StripeChannel
{
    public const string IdempotencySection = "Monetization:Idempotency";

    public static IServiceCollection AddStripeChannel(this IServiceCollection services)
    {
        services.AddOptions<StripeChannelOptions>().BindConfiguration(PortalOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StripeChannelOptions>>(new StripeChannelOptionsValidator(PortalOptions.Section)));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<StripeChannelOptions>>().Value);
        services.AddStripeSettings()
            .Validate(
                s => s.WebhookSecret is { Length: > 0 } secret && secret.StartsWith("whsec_", StringComparison.Ordinal),
                "Stripe:WebhookSecret is required: the signing secret (whsec_...) of the webhook endpoint at /stripe/webhook, the WebhookSecret field of the Stripe:SecretArn secret.")
            .ValidateOnStart();
        services.AddOptions<IdempotencyOptions>()
            .BindConfiguration(IdempotencySection)
            .Validate(o => o.InProgressTimeout > TimeSpan.Zero, $"{IdempotencySection}:InProgressTimeout must be positive.")
            .Validate(o => o.RecordTtl > o.InProgressTimeout, $"{IdempotencySection}:RecordTtl must be longer than InProgressTimeout.")
            .Validate<IOptions<PortalOptions>>(
                (o, portal) => o.InProgressTimeout > portal.Value.RequestLifetime,
                $"{IdempotencySection}:InProgressTimeout must be longer than Monetization:RequestBudgetSeconds plus CleanupReserveSeconds: a claim that outlives its request could be taken over while it still runs.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<IdempotencyOptions>>().Value);
        services.AddStripeBilling(_ => { });

        // Before the server listens, so readiness (/healthz) waits for it and no signup pays for Stripe.net's first use.
        services.AddHostedService<StripeWarmUp>();
        services.AddSingleton(sp =>
        {
            var portal = sp.GetRequiredService<IOptions<PortalOptions>>().Value;
            return new SubscriptionOptions
            {
                PaymentCollection = portal.PaymentCollection,
                InvoiceDaysUntilDue = portal.InvoiceDaysUntilDue,
            };
        });
        services.AddSingleton(sp =>
        {
            var portal = sp.GetRequiredService<IOptions<PortalOptions>>().Value;
            return new AccountOptions
            {
                LinkLifetime = TimeSpan.FromMinutes(portal.SignInLinkMinutes),
                LinksPerAddressPerHour = portal.SignInLinksPerAddressPerHour,
                MaxOutstandingLinks = portal.MaxOutstandingSignInLinks,
                SessionLifetime = TimeSpan.FromHours(portal.SessionHours),
                KeyOverlap = TimeSpan.FromHours(portal.KeyRotationOverlapHours),
            };
        });
        services.AddSingleton(sp =>
        {
            var portal = sp.GetRequiredService<IOptions<PortalOptions>>().Value;
            return new BillingOptions { PastDueGrace = TimeSpan.FromHours(portal.PastDueGraceHours) };
        });
        services.AddSingleton(sp => new StripeWebhookVerifier(
            new Monetization.Core.Secret(sp.GetRequiredService<IOptions<StripeSettings>>().Value.WebhookSecret!),
            sp.GetRequiredService<TimeProvider>()));
        services.AddTransient<RequestSignIn>();
        services.AddTransient<ConfirmSignIn>();
        services.AddTransient<AccountSessions>();
        services.TryAddTransient<KeyReveal>();
        services.AddTransient<SpendCaps>();
        services.AddTransient<ViewAccount>();
        services.AddTransient<StartSubscription>();
        services.AddTransient<StartFreePlan>();
        services.AddSingleton<PriceCache>();
        services.AddTransient<ManageBilling>();
        services.AddTransient<ManageKeys>();
        services.AddTransient<SubscriptionAccess>();
        services.AddTransient<ActivateSubscription>();
        services.AddTransient<ApplyBillingEvent>();
        services.AddTransient<EndSubscription>();
        return services;
    }
}
