using System.Net;
using Monetization.Emulators;
using Monetization.Emulators.Faults;

namespace Monetization.Tests.Registration;

/// <summary>The Portal reaching DynamoDB through a proxy that records every round trip.</summary>
public sealed class LedgerRecordingPortalFixture : PortalFixture
{
    private FaultProxy? _dynamoDb;

    public FaultProxy DynamoDb => _dynamoDb ?? throw new InvalidOperationException("The fixture has not started.");

    protected override async ValueTask<IReadOnlyDictionary<string, string?>> ConfigureAsync(OfflineEnvironment environment)
    {
        _dynamoDb = await FaultProxy.StartAsync(environment.Moto.Endpoint, TestContext.Current.CancellationToken);
        _dynamoDb.RecordExchanges = true;
        environment.ApiGateway.RecordExchanges = true;

        // API Gateway has its own endpoint setting; what is left on this one is DynamoDB.
        return new Dictionary<string, string?> { ["Aws:ServiceUrl"] = _dynamoDb.Endpoint.ToString() };
    }

    protected override async ValueTask DisposeExtrasAsync()
    {
        if (_dynamoDb is not null)
        {
            await _dynamoDb.DisposeAsync();
        }
    }
}

public sealed class RegistrationRoundTripTests(LedgerRecordingPortalFixture portal) : IClassFixture<LedgerRecordingPortalFixture>
{
    /// <summary>
    /// Besides the two writes of its own, registration (with invoices) writes the subscription's pointer, after
    /// Stripe created it and before the record names it, so a webhook about the subscription always finds its
    /// subscriber. It runs while the key is being granted.
    /// </summary>
    [Fact]
    public async Task SuccessfulRegistrationWritesTheSubscriptionPointerBeforeTheRecordAndLooksUpNoKey()
    {
        // A first registration opens the connections: on a cold client the second of two concurrent requests waits for
        // its own connection, which the proxy would see as no overlap although the flow sent both at once.
        var beforeWarmUp = portal.DynamoDb.Exchanges.Count;
        using (var warmUp = await portal.RegisterAsync("round-trips-warm-up@example.com"))
        {
            Assert.Equal(HttpStatusCode.Created, warmUp.StatusCode);
        }

        var ledgerBefore = (await portal.DynamoDb.ExchangesAsync(beforeWarmUp + 4, TestContext.Current.CancellationToken)).Count;
        var stripeBefore = portal.Environment.Stripe.Requests.Count;
        var apiGatewayBefore = portal.Environment.ApiGateway.Exchanges.Count;

        using var response = await portal.RegisterAsync("round-trips@example.com");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var ledger = (await portal.DynamoDb.ExchangesAsync(ledgerBefore + 4, TestContext.Current.CancellationToken)).Skip(ledgerBefore).OrderBy(e => e.Started).ToList();
        Assert.Equal(4, ledger.Count);

        // The claim and the pending record are in flight together; the pointer follows them and the final write waits for it.
        Assert.True(ledger[1].Started < ledger[0].Ended, "the first two ledger writes must overlap");
        Assert.True(ledger[2].Started >= Math.Max(ledger[0].Ended, ledger[1].Ended), "the pointer follows the first two writes");
        Assert.EndsWith(".PutItem", ledger[2].Target, StringComparison.Ordinal);

        // The record holds the key, so it is written together with the key's pointer in one transaction.
        Assert.EndsWith(".TransactWriteItems", ledger[3].Target, StringComparison.Ordinal);
        Assert.True(ledger[3].Started >= ledger[2].Ended, "the record is written once the pointer is");
        Assert.DoesNotContain(ledger, e => e.Target?.EndsWith(".GetItem", StringComparison.Ordinal) == true);
        Assert.All(portal.Environment.Stripe.Requests.Skip(stripeBefore), r => Assert.Equal("POST", r.Method));
        Assert.All(portal.Environment.ApiGateway.Exchanges.Skip(apiGatewayBefore), e => Assert.NotEqual("GET", e.Method));
    }
}
