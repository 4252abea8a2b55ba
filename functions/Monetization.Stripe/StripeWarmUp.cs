using System.Net;
using Microsoft.Extensions.Hosting;
using Stripe;
using Checkout = Stripe.Checkout;

namespace Monetization.Stripe;

/// <summary>
/// Makes the calls a signup and a webhook make once while the host starts, in process, against canned answers and
/// never over the network: Stripe.net's assembly loads, its form encoder and serializer build their per-type metadata,
/// and its event parser runs, before the host reports ready, so no person's request pays for them.
/// </summary>
public sealed class StripeWarmUp : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => RunAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public static async Task RunAsync(CancellationToken cancellationToken)
    {
        var stripe = new StripeClient(new StripeClientOptions { ApiKey = "sk_test_warmup", HttpClient = new CannedAnswers() });
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
    private sealed class CannedAnswers : IHttpClient
    {
        private const string Subscription = """{"id":"sub_warm","object":"subscription","customer":"cus_warm","status":"active","collection_method":"send_invoice","billing_mode":{"type":"flexible"},"items":{"object":"list","data":[{"id":"si_warm","object":"subscription_item","current_period_start":1,"current_period_end":2,"price":{"id":"price_warm","object":"price","recurring":{"interval":"month","usage_type":"metered","meter":"mtr_warm"}}}],"has_more":false},"metadata":{}}""";

        private const string Session = """{"id":"cs_warm","object":"checkout.session","customer":"cus_warm","status":"open","mode":"subscription","ui_mode":"hosted_page","url":"https://warm-up.invalid/pay","client_reference_id":"stripe#0","metadata":{"subscriberId":"stripe#0"}}""";

        public static readonly string SubscriptionEvent =
            "{\"id\":\"evt_warm\",\"object\":\"event\",\"api_version\":\"" + StripeConfiguration.ApiVersion
            + "\",\"type\":\"customer.subscription.updated\",\"created\":1,\"data\":{\"object\":" + Subscription + "}}";

        public async Task<StripeResponse> MakeRequestAsync(StripeRequest request, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(request);

            // Reading the body is what runs the form encoder.
            if (request.Content is { } content)
            {
                using (content)
                {
                    await content.ReadAsStringAsync(cancellationToken);
                }
            }

            var path = request.Uri.AbsolutePath;
            var body = path switch
            {
                _ when path.StartsWith("/v1/customers", StringComparison.Ordinal) => """{"id":"cus_warm","object":"customer","email":"warm-up@example.invalid","metadata":{"subscriberId":"stripe#0"}}""",
                "/v1/checkout/sessions" when request.Method == HttpMethod.Get => """{"object":"list","data":[""" + Session + """],"has_more":false,"url":"/v1/checkout/sessions"}""",
                _ when path.StartsWith("/v1/checkout/sessions", StringComparison.Ordinal) => Session,
                _ => Subscription,
            };
            using var answer = new HttpResponseMessage(HttpStatusCode.OK);
            return new StripeResponse(HttpStatusCode.OK, answer.Headers, body);
        }

        public Task<StripeStreamedResponse> MakeStreamingRequestAsync(StripeRequest request, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The warm-up streams nothing.");
    }
}
