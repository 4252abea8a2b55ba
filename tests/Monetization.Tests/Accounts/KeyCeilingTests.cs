using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Aws.Ledger;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Tests.Billing;

namespace Monetization.Tests.Accounts;

/// <summary>
/// API Gateway's 10,000 keys per account and region: the key minting consumer stops below it (less
/// <c>KeyMinting:KeyReserve</c>), makes only the keys there is room for, tells the waiting subscribers on their account
/// page, counts them for the seller's alarm, and makes their keys once room is free again.
/// </summary>
public sealed class KeyCeilingTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AtTheCeilingOnlyTheRoomLeftIsMintedTheRestWaitToldWhyAndAreMintedOnceRoomIsFree()
    {
        await using var environment = await OfflineEnvironment.StartAsync(Ct);

        // Room for three of the account's keys, one of which another API holds.
        await using var consumer = KeyMintingConsumer.Start(environment, new Dictionary<string, string?> { ["KeyMinting:KeyReserve"] = (ApiKeyAccess.AccountKeyLimit - 3).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await consumer.Source.DisposeAsync();
        var otherApisKey = await OtherApisKeyAsync(environment);
        using var dynamoDb = environment.DynamoDb();
        var ledger = new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName);
        var waiting = new List<Subscriber>();
        for (var i = 0; i < 4; i++)
        {
            waiting.Add(await AwaitingAsync(ledger, environment.StripeUsagePlanId));
        }

        var mint = consumer.Services.GetRequiredService<MintKeys>();
        var first = await mint.MintAsync([.. waiting.Select(Request)], Ct);

        Assert.Equal(2, first.Minted);
        Assert.Equal(2, first.RefusedAtCeiling);
        Assert.Equal(2, first.Failed.Count);
        var records = await Task.WhenAll(waiting.Select(w => ledger.GetAsync(w.Id, Ct)));
        Assert.Equal(2, records.Count(r => r!.ApiKeyId is not null && r.KeyRefusedAt is null));
        var refused = records.Where(r => r!.ApiKeyId is null).ToList();
        Assert.Equal(2, refused.Count);
        Assert.All(refused, r => Assert.NotNull(r!.KeyRefusedAt));
        Assert.Equal(3, (await environment.ApiKeysAsync(Ct)).Count);

        // The other API's key goes: room for one more, found by counting again.
        using (var http = environment.ApiGatewayHttp())
        {
            (await http.DeleteAsync(new Uri(http.BaseAddress!, $"/apikeys/{otherApisKey}"), Ct)).EnsureSuccessStatusCode();
        }

        var second = await mint.MintAsync([.. refused.Select(r => Request(r!))], Ct);

        Assert.Equal(1, second.Minted);
        Assert.Equal(1, second.RefusedAtCeiling);
        var now = await Task.WhenAll(refused.Select(r => ledger.GetAsync(r!.Id, Ct)));
        var made = Assert.Single(now, r => r!.ApiKeyId is not null)!;
        Assert.Null(made.KeyRefusedAt);
        Assert.Equal(3, (await environment.ApiKeysAsync(Ct)).Count);
    }

    [Fact]
    public async Task ASubscriberWhoseKeyWaitsAtTheCeilingIsToldSoOnTheAccountPage()
    {
        const string email = "ceiling@example.com";
        using var browser = await portal.SignInAsync(email);
        var now = DateTimeOffset.UtcNow;
        await portal.EditRecordAsync(email, r => r with { Status = SubscriberStatus.Active, Subscribed = true, KeyRequestedAt = now, KeyRefusedAt = now });

        var page = await browser.AccountPageAsync();

        Assert.Contains("cannot be issued yet", page, StringComparison.Ordinal);
        Assert.Contains("The seller has been alerted", page, StringComparison.Ordinal);
        Assert.Contains("<meta http-equiv=\"refresh\" content=\"60\">", page, StringComparison.Ordinal);
        Assert.Null(AccountBrowser.KeyShownOn(page));
    }

    private static QueuedKeyMint Request(Subscriber subscriber) =>
        new($"message-{Guid.NewGuid():N}", new KeyMintRequest(subscriber.Id, DateTimeOffset.UtcNow), Deliveries: 1);

    private static async Task<Subscriber> AwaitingAsync(DynamoDbSubscriberLedger ledger, string planId)
    {
        var now = DateTimeOffset.UtcNow;
        var record = new Subscriber
        {
            Id = $"stripe#{Guid.NewGuid():N}",
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Active,
            UsagePlanId = planId,
            Registered = true,
            Subscribed = true,
            KeyRequestedAt = now,
            CreatedAt = now,
            UpdatedAt = now,
        };
        Assert.True(await ledger.TryCreateAsync(record, Ct));
        return (await ledger.GetAsync(record.Id, Ct))!;
    }

    private static async Task<string> OtherApisKeyAsync(OfflineEnvironment environment)
    {
        using var http = environment.ApiGatewayHttp();
        using var created = await http.PostAsync(
            new Uri(http.BaseAddress!, "/apikeys"),
            new StringContent("""{"name":"another-api","enabled":true}""", System.Text.Encoding.UTF8, "application/json"),
            Ct);
        created.EnsureSuccessStatusCode();
        using var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Ct));
        return key.RootElement.GetProperty("id").GetString()!;
    }
}
