using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Aws.Ledger;
using Monetization.Core.Idempotency;
using Monetization.Emulators;

namespace Monetization.Tests.Registration;

/// <summary>The Portal with an idempotency store that claims and releases but cannot complete a claim.</summary>
public sealed class CompletionFailingPortalFixture : PortalFixture
{
    protected override void ConfigureServices(IServiceCollection services) =>
        services.AddSingleton<IIdempotencyStore>(sp => new CompletionFailingStore(
            new DynamoDbIdempotencyStore(sp.GetRequiredService<IAmazonDynamoDB>(), OfflineEnvironment.LedgerTableName)));

    private sealed class CompletionFailingStore(IIdempotencyStore inner) : IIdempotencyStore
    {
        public Task<IdempotencyRecord?> TryClaimAsync(IdempotencyRecord claim, DateTimeOffset now, CancellationToken cancellationToken) =>
            inner.TryClaimAsync(claim, now, cancellationToken);

        public Task CompleteAsync(string key, string payloadHash, string result, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
            Task.FromException(new TimeoutException("The ledger did not answer."));

        public Task ReleaseAsync(string key, string payloadHash, CancellationToken cancellationToken) =>
            inner.ReleaseAsync(key, payloadHash, cancellationToken);
    }
}

public sealed class RegistrationCompletionTests(CompletionFailingPortalFixture portal) : IClassFixture<CompletionFailingPortalFixture>
{
    [Fact]
    public async Task RegistrationThatSucceededHandsOutItsKeyEvenWhenItsClaimCannotBeCompleted()
    {
        using var response = await portal.RegisterAsync("completion@example.com");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
        var state = await RegistrationState.ReadAsync(portal.Environment, "completion@example.com");
        state.AssertRegistered(body.GetProperty("apiKeyId").GetString()!, portal.Environment.PriceId);
        Assert.Equal(state.Keys[0].Value, body.GetProperty("apiKey").GetString());

        using var again = await portal.RegisterAsync("completion@example.com");

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.DoesNotContain(state.Keys[0].Value, await again.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }
}
