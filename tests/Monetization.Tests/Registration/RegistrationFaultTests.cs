using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Monetization.Emulators.Faults;

namespace Monetization.Tests.Registration;

/// <summary>
/// Each outside call of a registration failing in each way a dependency fails: the attempt leaves no enabled key, no
/// key in the plan and no duplicate Stripe object, and the same registration retried afterwards converges.
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
            using var failed = await portal.RegisterAsync(email);

            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.NotNull(failed.Headers.RetryAfter);
            (await RegistrationState.ReadAsync(portal.Environment, email)).AssertNoAccessAndNoDuplicates();
        }
        finally
        {
            faults.Clear();
        }

        using var retried = await portal.RegisterAsync(email);

        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        var body = await retried.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        var state = await RegistrationState.ReadAsync(portal.Environment, email);
        state.AssertRegistered(body.GetProperty("apiKeyId").GetString()!, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, body.GetProperty("apiKey").GetString());
    }

    [Theory]
    [InlineData("/v1/customers", FaultKind.Reset)]
    [InlineData("/v1/customers", FaultKind.Timeout)]
    [InlineData("/v1/subscriptions", FaultKind.Reset)]
    [InlineData("/v1/subscriptions", FaultKind.Timeout)]
    public async Task StripeAnswerLostAfterTheObjectWasCreatedIsRecoveredWithoutADuplicate(string pathPrefix, FaultKind kind)
    {
        var email = $"lost-{pathPrefix.Replace('/', '-')}-{kind}@example.com";
        portal.Environment.Stripe.Faults.Add(new FaultRule { Method = "POST", PathPrefix = pathPrefix, Kind = kind, Phase = FaultPhase.After, Count = 1 });
        try
        {
            using var response = await portal.RegisterAsync(email);

            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
            (await RegistrationState.ReadAsync(portal.Environment, email)).AssertRegistered(body.GetProperty("apiKeyId").GetString()!, portal.Environment.PriceId);
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
