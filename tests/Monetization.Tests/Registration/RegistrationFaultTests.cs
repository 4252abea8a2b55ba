using System.Net;
using Monetization.Emulators.Faults;
using Monetization.Tests.Accounts;

namespace Monetization.Tests.Registration;

/// <summary>
/// Each outside call of subscribing (invoice collection: customer, subscription, key, grant) failing in each way a
/// dependency fails: the attempt leaves no access and no duplicate Stripe object, and pressing Subscribe again
/// converges on the same objects, the key shown once.
/// </summary>
public sealed class RegistrationFaultTests(PortalFixture portal) : IClassFixture<PortalFixture>
{
    public static TheoryData<string, string> Matrix()
    {
        var data = new TheoryData<string, string>();
        foreach (var call in Calls.Keys)
        {
            foreach (var fault in new[] { "500", "429", "timeout", "reset" })
            {
                data.Add(call, fault);
            }
        }

        return data;
    }

    private static readonly Dictionary<string, (bool Stripe, string Method, string PathPrefix)> Calls = new()
    {
        ["create api key"] = (false, "POST", "/apikeys"),
        ["enable api key"] = (false, "PATCH", "/apikeys/"),
        ["add key to usage plan"] = (false, "POST", "/usageplans/"),
        ["create customer"] = (true, "POST", "/v1/customers"),
        ["link key on customer"] = (true, "POST", "/v1/customers/"),
        ["create subscription"] = (true, "POST", "/v1/subscriptions"),
    };

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task FailingCallLeavesNoAccessNoDuplicateAndARetryConverges(string call, string fault)
    {
        var email = $"{call.Replace(' ', '-')}-{fault}@example.com";
        using var browser = await portal.SignInAsync(email);
        var (stripe, method, pathPrefix) = Calls[call];
        var rule = fault switch
        {
            "500" => new FaultRule { Method = method, PathPrefix = pathPrefix, Status = 500, Headers = StripeRetryable(stripe) },
            "429" => new FaultRule { Method = method, PathPrefix = pathPrefix, Status = 429, Body = ThrottledBody(stripe) },
            "timeout" => new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = FaultKind.Timeout },
            _ => new FaultRule { Method = method, PathPrefix = pathPrefix, Kind = FaultKind.Reset },
        };
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
        var shown = AccountBrowser.KeyShownOn(await browser.AccountPageAsync());
        var state = await RegistrationState.ReadAsync(portal.Environment, email);
        state.AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, shown?.Value);
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
            var shown = AccountBrowser.KeyShownOn(await browser.AccountPageAsync());
            (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(shown?.Id!, portal.Environment.PriceId);
        }
        finally
        {
            portal.Environment.Stripe.Faults.Clear();
        }
    }

    private static Dictionary<string, string>? StripeRetryable(bool stripe) =>
        stripe ? new Dictionary<string, string> { ["Stripe-Should-Retry"] = "true" } : null;

    private static string? ThrottledBody(bool stripe) => stripe
        ? """{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests."}}"""
        : """{"message":"Too Many Requests"}""";
}
