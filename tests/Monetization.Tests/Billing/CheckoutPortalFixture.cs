using System.Net.Http.Json;
using System.Text.Json;
using Amazon.DynamoDBv2.Model;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;
using Monetization.Core.Registration;
using Monetization.Tests.Accounts;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.Emulators.Stripe;
using Monetization.Tests.Registration;
using Monetization.Tests.Usage;

namespace Monetization.Tests.Billing;

/// <summary>The real Portal collecting payment by Checkout (the default), with the Stripe emulator's webhooks aimed at it.</summary>
public sealed class CheckoutPortalFixture : PortalFixture
{
    protected override ValueTask<IReadOnlyDictionary<string, string?>> ConfigureAsync(OfflineEnvironment environment) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, string?>>(new Dictionary<string, string?> { ["Monetization:PaymentCollection"] = "Checkout" });

    public StripeEmulator Stripe => Environment.Stripe;

    public Uri WebhookUrl => new(Http.BaseAddress!, "stripe/webhook");

    /// <summary>Webhooks on: the emulator delivers what it emits to the Portal, as a configured Stripe endpoint would.</summary>
    public void DeliverWebhooks(bool on) => Stripe.WebhookUrl = on ? WebhookUrl : null;

    public static string SubscriberIdOf(string email) => RegistrationState.SubscriberIdOf(email);

    /// <summary>A person signs in and presses Subscribe: their browser and the checkout it was sent to.</summary>
    public async Task<(AccountBrowser Browser, EmulatedCheckoutSession Session)> StartCheckoutAsync(string email)
    {
        var browser = await SignInAsync(email);
        using var pressed = await browser.PressAsync("/account/subscribe");
        Assert.Equal(System.Net.HttpStatusCode.SeeOther, pressed.StatusCode);
        var url = pressed.Headers.Location!.ToString();
        return (browser, Stripe.CheckoutSessions.Single(s => s.Url == url));
    }

    /// <summary>The browser coming back from Stripe after paying <paramref name="paid"/>.</summary>
    /// <summary>Signs in, pays on the emulator's checkout and comes back: a paying subscriber with a working key.</summary>
    /// <param name="webhooks">Whether Stripe's events reach the Portal; without, the return from checkout alone grants access.</param>
    public async Task<(AccountBrowser Browser, string KeyId, string SubscriptionId)> PaidAsync(string email, bool webhooks)
    {
        DeliverWebhooks(webhooks);
        var (browser, session) = await StartCheckoutAsync(email);
        var (paid, _, _) = await Stripe.CompleteCheckoutAsync(session.Id, deliver: webhooks, TestContext.Current.CancellationToken);
        using (await ReturnAsync(browser, paid))
        {
        }

        return (browser, await KeyIdOf(email), paid.SubscriptionId!);
    }

    public Task<HttpResponseMessage> ReturnAsync(AccountBrowser browser, EmulatedCheckoutSession paid) =>
        browser.Http.GetAsync(new Uri(paid.SuccessUrl!.Replace("{CHECKOUT_SESSION_ID}", paid.Id, StringComparison.Ordinal)), TestContext.Current.CancellationToken);

    /// <summary>The key the ledger records for the subscriber, once access started and the key minting queue's consumer made it.</summary>
    public async Task<string> KeyIdOf(string email)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var record = await RecordAsync(email);
            if (record?.ApiKeyId is { } keyId)
            {
                return keyId;
            }

            if (record is not { AwaitsKey: true } || DateTimeOffset.UtcNow > deadline)
            {
                throw new InvalidOperationException($"{email} has no key.");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The API keys named like the subscriber's.</summary>
    public async Task<IReadOnlyList<string>> KeysNamedFor(string email)
    {
        Assert.True(Email.TryParse(email, out var parsed, out _));
        var name = RegistrationState.KeyNameOf(parsed!);
        return [.. (await Environment.ApiKeysAsync(TestContext.Current.CancellationToken)).Where(k => k.Name == name).Select(k => k.Id)];
    }

    public async Task<Subscriber?> RecordAsync(string email)
    {
        using var dynamoDb = Environment.DynamoDb();
        return await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).GetAsync(SubscriberIdOf(email), TestContext.Current.CancellationToken);
    }

    /// <summary>Rewrites the subscriber's record as <paramref name="edit"/> says, as if time had passed for what it moves.</summary>
    public async Task EditRecordAsync(string email, Func<Subscriber, Subscriber> edit)
    {
        using var dynamoDb = Environment.DynamoDb();
        await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).UpdateAsync(
            SubscriberIdOf(email), current => edit(current!), known: null, TestContext.Current.CancellationToken);
    }

    public async Task<string?> PointerAsync(string subscriptionId)
    {
        using var dynamoDb = Environment.DynamoDb();
        return await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).FindStripeSubscriptionAsync(subscriptionId, TestContext.Current.CancellationToken);
    }

    public async Task<bool> LedgerHasAsync(string pk)
    {
        using var dynamoDb = Environment.DynamoDb();
        var item = await dynamoDb.GetItemAsync(
            new GetItemRequest { TableName = OfflineEnvironment.LedgerTableName, Key = new() { ["pk"] = new(pk) }, ConsistentRead = true },
            TestContext.Current.CancellationToken);
        return item.Item is { Count: > 0 };
    }

    /// <summary>One usage report over this environment, wired as the function wires it, with the settle window given.</summary>
    public Task<UsageReportSummary> ReportUsageAsync(TimeSpan settleWindow, TimeProvider? time = null, IReadOnlyDictionary<string, string?>? settings = null) =>
        UsageReports.RunOnceAsync(Environment, settleWindow, time, settings);

    /// <summary>The key as moto holds it: (enabled, in the Stripe plan).</summary>
    public async Task<(bool Enabled, bool InPlan)> AccessAsync(string keyId)
    {
        var ct = TestContext.Current.CancellationToken;
        var key = (await Environment.ApiKeysAsync(ct)).Single(k => k.Id == keyId);
        var plan = await Environment.UsagePlanKeyIdsAsync(Environment.StripeUsagePlanId, ct);
        return (key.Enabled, plan.Contains(keyId));
    }

    /// <summary>
    /// Polls until the key's access is <paramref name="expected"/> (webhooks arrive in the background): enabled and in the
    /// plan, or disabled (in the plan while its usage settles, or out of it).
    /// </summary>
    public async Task WaitForAccessAsync(string keyId, bool expected, TimeSpan? within = null)
    {
        var deadline = DateTimeOffset.UtcNow + (within ?? TimeSpan.FromSeconds(10));
        (bool Enabled, bool InPlan) access;
        do
        {
            access = await AccessAsync(keyId);
            if (expected ? access == (true, true) : !access.Enabled)
            {
                return;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
        while (DateTimeOffset.UtcNow < deadline);

        Assert.Fail($"key {keyId}: expected access {expected}, found enabled {access.Enabled}, in plan {access.InPlan}");
    }

    public EmulatedCheckoutSession SessionOf(string email)
    {
        var subscriberId = SubscriberIdOf(email);
        return Stripe.CheckoutSessions.Last(s => s.ClientReferenceId == subscriberId);
    }

    public async Task<HttpResponseMessage> PostWebhookAsync(string payload, string signature)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, WebhookUrl) { Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.TryAddWithoutValidation("Stripe-Signature", signature);
        return await Http.SendAsync(request, TestContext.Current.CancellationToken);
    }
}
