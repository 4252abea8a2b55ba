using System.Net;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Registration;

/// <summary>
/// Each outside call of subscribing (invoice collection: customer and subscription on the request, then the key
/// minting queue's import and the customer's link to the key) failing in each way a dependency fails: the attempt
/// leaves no access and no duplicate, and pressing Subscribe again, or the queue delivering the request again,
/// converges on the same objects, the key shown once.
/// </summary>
public sealed class RegistrationFaultTests(PortalFixture portal) : IClassFixture<PortalFixture>
{
    public static TheoryData<string, string> Matrix() => EachFaultOf(Calls.Keys);

    public static TheoryData<string, string> MintingMatrix() => EachFaultOf(MintingCalls.Keys);

    private static TheoryData<string, string> EachFaultOf(IEnumerable<string> calls)
    {
        var data = new TheoryData<string, string>();
        foreach (var call in calls)
        {
            foreach (var fault in new[] { "500", "429", "timeout", "reset" })
            {
                data.Add(call, fault);
            }
        }

        return data;
    }

    /// <summary>The calls made while a person waits for the answer to Subscribe.</summary>
    private static readonly Dictionary<string, (bool Stripe, string Method, string PathPrefix)> Calls = new()
    {
        ["create customer"] = (true, "POST", "/v1/customers"),
        ["create subscription"] = (true, "POST", "/v1/subscriptions"),
    };

    /// <summary>The calls the key minting queue's consumer makes once access started.</summary>
    private static readonly Dictionary<string, (bool Stripe, string Method, string PathPrefix)> MintingCalls = new()
    {
        ["import api key"] = (false, "POST", "/apikeys"),
        ["link key on customer"] = (true, "POST", "/v1/customers/"),
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task FailingCallLeavesNoAccessNoDuplicateAndARetryConverges(string call, string fault)
    {
        var email = $"{call.Replace(' ', '-')}-{fault}@example.com";
        using var browser = await portal.SignInAsync(email);
        var (stripe, method, pathPrefix) = Calls[call];
        var rule = RuleFor(stripe, method, pathPrefix, fault);
        var faults = stripe ? portal.Environment.Stripe.Faults : portal.Environment.ApiGateway.Faults;
        faults.Add(rule);
        try
        {
            using var failed = await browser.PressAsync("/account/subscribe");

            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.NotNull(failed.Headers.RetryAfter);
            (await RegistrationState.ReadAsync(portal.Environment, email)).AssertNoAccessAndNoDuplicates();
        }
        finally
        {
            faults.Clear();
        }

        using var retried = await browser.PressAsync("/account/subscribe");

        Assert.Equal(HttpStatusCode.SeeOther, retried.StatusCode);
        var shown = await portal.MintedKeyAsync(browser);
        var state = await RegistrationState.ReadAsync(portal.Environment, email);
        state.AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, shown?.Value);
    }

    [Theory]
    [MemberData(nameof(MintingMatrix))]
    public async Task FailingKeyMintLeavesNoAccessNoDuplicateAndTheQueuesRedeliveryConverges(string call, string fault)
    {
        var email = $"mint-{call.Replace(' ', '-')}-{fault}@example.com";
        using var browser = await portal.SignInAsync(email);
        var (stripe, method, pathPrefix) = MintingCalls[call];
        var faults = stripe ? portal.Environment.Stripe.Faults : portal.Environment.ApiGateway.Faults;
        var rule = RuleFor(stripe, method, pathPrefix, fault);
        faults.Add(rule);
        try
        {
            var invocations = portal.Minting.Source.Invocations;
            using var subscribed = await browser.PressAsync("/account/subscribe");

            // The person's request only asked for the key; the consumer's attempt fails.
            Assert.Equal(HttpStatusCode.SeeOther, subscribed.StatusCode);
            await WaitUntilAsync(() => portal.Minting.Source.Invocations > invocations && faults.Hits(rule) > 0);
            var during = await RegistrationState.ReadAsync(portal.Environment, email);
            if (call == "import api key")
            {
                // Nothing was made: the page still says the key is being activated.
                Assert.Contains("id=\"api-key-activating\"", await browser.AccountPageAsync(), StringComparison.Ordinal);
                Assert.Null((await RecordOfAsync(email))?.ApiKeyId);
                during.AssertNoAccessAndNoDuplicates();
            }
            else
            {
                // The key was made and recorded (it works and the page can show it); only the customer's link waits.
                Assert.Equal(Assert.Single(during.Keys).Id, (await RecordOfAsync(email))?.ApiKeyId);
                Assert.False(Assert.Single(during.Customers).Metadata.ContainsKey("awsAPIKeyId"));
            }
        }
        finally
        {
            faults.Clear();
        }

        // The queue delivers the request again after its visibility timeout: one key, shown once, linked (the link may
        // be the redelivery's work, after the key was shown).
        var shown = await portal.MintedKeyAsync(browser, TimeSpan.FromSeconds(30));
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        var state = await RegistrationState.ReadAsync(portal.Environment, email);
        while (state.Customers is not [{ Metadata: var metadata }] || !metadata.ContainsKey("awsAPIKeyId"))
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the customer never named the key");
            await Task.Delay(100, TestContext.Current.CancellationToken);
            state = await RegistrationState.ReadAsync(portal.Environment, email);
        }

        state.AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, shown?.Value);
    }

    private async Task<Monetization.Core.Ledger.Subscriber?> RecordOfAsync(string email)
    {
        using var dynamoDb = portal.Environment.DynamoDb();
        return await new Monetization.Aws.Ledger.DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName)
            .GetAsync(RegistrationState.SubscriberIdOf(email), TestContext.Current.CancellationToken);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the key minting consumer did not try within 20 s");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    [Theory]
    [InlineData("/v1/customers", FaultKind.Reset)]
    [InlineData("/v1/customers", FaultKind.Timeout)]
    [InlineData("/v1/subscriptions", FaultKind.Reset)]
    [InlineData("/v1/subscriptions", FaultKind.Timeout)]
    public async Task StripeAnswerLostAfterTheObjectWasCreatedIsRecoveredWithoutADuplicate(string pathPrefix, FaultKind kind)
    {
        var email = $"lost-{pathPrefix.Replace('/', '-')}-{kind}@example.com";
        using var browser = await portal.SignInAsync(email);
        portal.Environment.Stripe.Faults.Add(new FaultRule { Method = "POST", PathPrefix = pathPrefix, Kind = kind, Phase = FaultPhase.After, Count = 1 });
        try
        {
            using var response = await browser.PressAsync("/account/subscribe");

            Assert.Equal(HttpStatusCode.SeeOther, response.StatusCode);
            var shown = await portal.MintedKeyAsync(browser);
            (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        }
        finally
        {
            portal.Environment.Stripe.Faults.Clear();
        }
    }

    private static FaultRule RuleFor(bool stripe, string method, string pathPrefix, string fault) => fault switch
    {
        "500" => new FaultRule { Method = method, PathPrefix = pathPrefix, Status = 500, Headers = StripeRetryable(stripe) },
        "429" => new FaultRule { Method = method, PathPrefix = pathPrefix, Status = 429, Body = ThrottledBody(stripe) },
        "timeout" => new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = FaultKind.Timeout },
        _ => new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = FaultKind.Reset },
    };

    private static Dictionary<string, string>? StripeRetryable(bool stripe) =>
        stripe ? new Dictionary<string, string> { ["Stripe-Should-Retry"] = "true" } : null;

    private static string? ThrottledBody(bool stripe) => stripe
        ? """{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests."}}"""
        : """{"message":"Too Many Requests"}""";
}
