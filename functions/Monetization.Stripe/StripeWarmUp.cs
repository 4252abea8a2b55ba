using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Stripe;
using Checkout = Stripe.Checkout;

namespace Monetization.Stripe;

/// <summary>
/// Makes the calls a signup and a webhook make once while the host starts, in process, against canned answers and
/// never over the network: the process's <see cref="StripeClient"/> and its HTTP handlers are built, and a client built
/// the same way (Stripe.net's <see cref="SystemNetHttpClient"/> over <see cref="StripeTransport"/>) runs the calls on an
/// innermost handler that answers them, so Stripe.net's form encoder, request building and serializer have their
/// per-type metadata and its event parser has run before the host reports ready, and no person's request pays for them.
/// </summary>
public sealed class StripeWarmUp(StripeClient stripe, IOptions<StripeOptions> options, TimeProvider time) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Http.StartupTrace.Mark("stripe-warm-up");

        // Resolving it built the client the requests will use (its requestor, serializer settings, HTTP handlers).
        _ = stripe.ApiBase;
        await RunAsync(options.Value, time, cancellationToken).ConfigureAwait(false);
        Http.StartupTrace.Mark("stripe-warm");
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static async Task RunAsync(StripeOptions settings, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var canned = new StripeOptions
        {
            SecretKey = new Core.Secret("sk_test_warmup"),
            ApiBase = new Uri("https://warm-up.invalid"),
            MeterEventsBase = new Uri("https://warm-up.invalid"),
            AttemptTimeout = settings.AttemptTimeout,
            MaxRetries = settings.MaxRetries,
            RetryBaseDelay = settings.RetryBaseDelay,
            RetryMaxDelay = settings.RetryMaxDelay,
            RateLimitDelay = settings.RateLimitDelay,
        };
        using var http = new HttpClient(new StripeTransport(Options.Create(canned), time) { InnerHandler = new CannedAnswers() });
        var stripe = StripeServiceCollectionExtensions.Create(canned, http);
        var key = new RequestOptions { IdempotencyKey = "warm-up" };
        var customer = await stripe.V1.Customers.CreateAsync(
            new CustomerCreateOptions { Email = "warm-up@example.invalid", Name = "Warm Up", Metadata = new() { ["subscriberId"] = "stripe#0" } },
            key,
            cancellationToken);
        await stripe.V1.Customers.UpdateAsync(customer.Id, new CustomerUpdateOptions { Metadata = new() { ["awsAPIKeyId"] = "k" } }, key, cancellationToken);
        await stripe.V1.Customers.GetAsync(customer.Id, null, null, cancellationToken);
        var session = await stripe.V1.Checkout.Sessions.CreateAsync(
            new Checkout.SessionCreateOptions
            {
                Mode = "subscription",
                Customer = customer.Id,
                LineItems = [new Checkout.SessionLineItemOptions { Price = "price_warm" }],
                SuccessUrl = "https://warm-up.invalid/return?session_id={CHECKOUT_SESSION_ID}",
                CancelUrl = "https://warm-up.invalid/cancel",
                ClientReferenceId = "stripe#0",
                Metadata = new() { ["subscriberId"] = "stripe#0" },
            },
            key,
            cancellationToken);
        await stripe.V1.Checkout.Sessions.GetAsync(session.Id, null, null, cancellationToken);
        await stripe.V1.Checkout.Sessions.ListAsync(new Checkout.SessionListOptions { Customer = customer.Id, Limit = 10 }, null, cancellationToken);
        await stripe.V1.Subscriptions.CreateAsync(
            new SubscriptionCreateOptions { Customer = customer.Id, Items = [new SubscriptionItemOptions { Price = "price_warm" }], CollectionMethod = "send_invoice", DaysUntilDue = 30 },
            key,
            cancellationToken);
        await stripe.V1.Subscriptions.GetAsync("sub_warm", null, null, cancellationToken);
        EventUtility.ParseEvent(CannedAnswers.SubscriptionEvent, throwOnApiVersionMismatch: false);
    }

    /// <summary>Answers every request with a small object of the kind its path names.</summary>
    private sealed class CannedAnswers : HttpMessageHandler
    {
        private const string Subscription = """{"id":"sub_warm","object":"subscription","customer":"cus_warm","status":"active","collection_method":"send_invoice","billing_mode":{"type":"flexible"},"items":{"object":"list","data":[{"id":"si_warm","object":"subscription_item","current_period_start":1,"current_period_end":2,"price":{"id":"price_warm","object":"price","recurring":{"interval":"month","usage_type":"metered","meter":"mtr_warm"}}}],"has_more":false},"metadata":{}}""";

        private const string Session = """{"id":"cs_warm","object":"checkout.session","customer":"cus_warm","status":"open","mode":"subscription","ui_mode":"hosted_page","url":"https://warm-up.invalid/pay","client_reference_id":"stripe#0","metadata":{"subscriberId":"stripe#0"}}""";

        public static readonly string SubscriptionEvent =
            "{\"id\":\"evt_warm\",\"object\":\"event\",\"api_version\":\"" + StripeConfiguration.ApiVersion
            + "\",\"type\":\"customer.subscription.updated\",\"created\":1,\"data\":{\"object\":" + Subscription + "}}";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            ArgumentNullException.ThrowIfNull(request);

            // Reading the body is what runs the form encoder.
            if (request.Content is { } content)
            {
                await content.ReadAsStringAsync(cancellationToken);
            }

            var path = request.RequestUri!.AbsolutePath;
            var body = path switch
            {
                _ when path.StartsWith("/v1/customers", StringComparison.Ordinal) => """{"id":"cus_warm","object":"customer","email":"warm-up@example.invalid","metadata":{"subscriberId":"stripe#0"}}""",
                "/v1/checkout/sessions" when request.Method == HttpMethod.Get => """{"object":"list","data":[""" + Session + """],"has_more":false,"url":"/v1/checkout/sessions"}""",
                _ when path.StartsWith("/v1/checkout/sessions", StringComparison.Ordinal) => Session,
                _ => Subscription,
            };
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json") };
        }
    }
}
