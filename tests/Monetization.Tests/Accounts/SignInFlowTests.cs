using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Aws.Ledger;
using Monetization.Core;
using Monetization.Core.Accounts;
using Monetization.Core.Ledger;
using Monetization.Tests.Infrastructure;
using Monetization.Tests.Ledger;

namespace Monetization.Tests.Accounts;

/// <summary>The sign-in flows on the real ledger (moto, requests serialised so its conditional writes are atomic), with a clock the test moves.</summary>
public sealed class SignInFlowTests(LedgerMotoFixture moto) : IClassFixture<LedgerMotoFixture>, IAsyncLifetime
{
    private static readonly Uri SignInUrl = new("https://portal.example/signin");
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero));
    private readonly CapturedMail _mail = new();
    private Amazon.DynamoDBv2.AmazonDynamoDBClient _dynamoDb = null!;
    private DynamoDbAccountStore _store = null!;
    private DynamoDbSubscriberLedger _ledger = null!;
    private string _table = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _dynamoDb = moto.CreateClient();
        _table = await moto.CreateTableAsync(_dynamoDb, Ct);
        _store = new DynamoDbAccountStore(_dynamoDb, _table);
        _ledger = new DynamoDbSubscriberLedger(_dynamoDb, _table);
    }

    public ValueTask DisposeAsync()
    {
        _dynamoDb.Dispose();
        return ValueTask.CompletedTask;
    }

    private RequestSignIn Requests(AccountOptions? options = null) =>
        new(_store, _mail, options ?? new AccountOptions(), _clock, NullLogger<RequestSignIn>.Instance);

    private AccountSessions Sessions(AccountOptions? options = null) =>
        new(_store, options ?? new AccountOptions(), _clock, NullLogger<AccountSessions>.Instance);

    private ConfirmSignIn Confirms(AccountOptions? options = null) =>
        new(_store, _ledger, Sessions(options), new StripeChannelOptions { StripeUsagePlanId = "plan-1" }, _clock, NullLogger<ConfirmSignIn>.Instance);

    private async Task<string> LinkTokenAsync(string email, AccountOptions? options = null)
    {
        Assert.IsType<SignInLinkOutcome.Sent>(await Requests(options).RequestAsync(new SignInLinkRequest(email, "Ada", "Lovelace", SignInUrl), Ct));
        return System.Web.HttpUtility.ParseQueryString(_mail.LinkFor(email).Query)["token"]!;
    }

    [Fact]
    public async Task TheLinkCarriesA256BitTokenTheLedgerHoldsOnlyAsAHash()
    {
        var token = await LinkTokenAsync("hash@example.com");

        Assert.True(AccountTokens.IsWellFormed(token));
        Assert.Equal(32, Convert.FromBase64String(token.Replace('-', '+').Replace('_', '/') + "=").Length);
        var items = await _dynamoDb.ScanAsync(new Amazon.DynamoDBv2.Model.ScanRequest { TableName = _table }, Ct);
        Assert.DoesNotContain(items.Items, i => i.Values.Any(v => v.S?.Contains(token, StringComparison.Ordinal) == true) || i["pk"].S.Contains(token, StringComparison.Ordinal));
        Assert.Contains(items.Items, i => i["pk"].S == "SIGNIN#" + AccountTokens.Hash(new Secret(token)));
    }

    [Fact]
    public async Task ALinkWorksOnceReadingItUsesNothingAndTheFirstUseCreatesTheRecord()
    {
        var token = await LinkTokenAsync("once@example.com");
        var confirms = Confirms();

        Assert.True(await confirms.IsUsableAsync(token, Ct));
        Assert.True(await confirms.IsUsableAsync(token, Ct));
        var first = Assert.IsType<SignInOutcome.SignedIn>(await confirms.ConfirmAsync(token, Ct));
        Assert.IsType<SignInOutcome.Unusable>(await confirms.ConfirmAsync(token, Ct));
        Assert.False(await confirms.IsUsableAsync(token, Ct));

        var record = await _ledger.GetAsync(first.SubscriberId, Ct);
        Assert.NotNull(record);
        Assert.Equal("once@example.com", record.Email);
        Assert.Equal(SubscriberStatus.Pending, record.Status);
        Assert.Null(record.ApiKeyId);
        Assert.Null(record.StripeCustomerId);
        Assert.Equal(first.SubscriberId, await Sessions().FindAsync(first.Session.Token.Reveal(), Ct));
    }

    [Fact]
    public async Task ALinkPastItsLifetimeWorksNoMore()
    {
        var options = new AccountOptions { LinkLifetime = TimeSpan.FromMinutes(15) };
        var token = await LinkTokenAsync("late@example.com", options);

        _clock.Advance(TimeSpan.FromMinutes(15) + TimeSpan.FromSeconds(1));

        Assert.False(await Confirms(options).IsUsableAsync(token, Ct));
        Assert.IsType<SignInOutcome.Unusable>(await Confirms(options).ConfirmAsync(token, Ct));
    }

    [Fact]
    public async Task TwentyConcurrentUsesOfOneLinkSignInOnce()
    {
        var token = await LinkTokenAsync("concurrent@example.com");
        var confirms = Confirms();

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => confirms.ConfirmAsync(token, Ct)));

        Assert.Single(outcomes, o => o is SignInOutcome.SignedIn);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("short")]
    [InlineData("0123456789012345678901234567890123456789+/=")]
    public async Task AMalformedTokenIsUnusable(string? token)
    {
        Assert.False(await Confirms().IsUsableAsync(token, Ct));
        Assert.IsType<SignInOutcome.Unusable>(await Confirms().ConfirmAsync(token, Ct));
    }

    [Fact]
    public async Task AnAddressGetsItsLinksPerHourAndFurtherRequestsAreAnsweredAlikeSendingNothing()
    {
        var options = new AccountOptions { LinksPerAddressPerHour = 3 };
        var flow = Requests(options);

        var outcomes = new List<SignInLinkOutcome>();
        for (var i = 0; i < 5; i++)
        {
            outcomes.Add(await flow.RequestAsync(new SignInLinkRequest("limited@example.com", "Ada", "Lovelace", SignInUrl), Ct));
        }

        Assert.All(outcomes, o => Assert.IsType<SignInLinkOutcome.Sent>(o));
        Assert.Equal(3, _mail.To("limited@example.com").Count);

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.IsType<SignInLinkOutcome.Sent>(await flow.RequestAsync(new SignInLinkRequest("limited@example.com", "Ada", "Lovelace", SignInUrl), Ct));
        Assert.Equal(4, _mail.To("limited@example.com").Count);
    }

    [Fact]
    public async Task BeyondTheOutstandingLinkCapEveryoneWaitsForTheWindowAndNothingIsSent()
    {
        var options = new AccountOptions { MaxOutstandingLinks = 4, LinkLifetime = TimeSpan.FromMinutes(15) };
        var flow = Requests(options);
        for (var i = 0; i < 4; i++)
        {
            Assert.IsType<SignInLinkOutcome.Sent>(await flow.RequestAsync(new SignInLinkRequest($"cap-{i}@example.com", "Ada", "Lovelace", SignInUrl), Ct));
        }

        var busy = Assert.IsType<SignInLinkOutcome.Busy>(await flow.RequestAsync(new SignInLinkRequest("cap-over@example.com", "Ada", "Lovelace", SignInUrl), Ct));

        Assert.InRange(busy.RetryAfter, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(15));
        Assert.Empty(_mail.To("cap-over@example.com"));
        _clock.Advance(busy.RetryAfter);
        Assert.IsType<SignInLinkOutcome.Sent>(await flow.RequestAsync(new SignInLinkRequest("cap-over@example.com", "Ada", "Lovelace", SignInUrl), Ct));
    }

    [Fact]
    public async Task AProviderThatDoesNotSendFailsTheRequestAndCreatesNoRecord()
    {
        _mail.Failing = true;

        await Assert.ThrowsAsync<DependencyUnavailableException>(() => Requests().RequestAsync(new SignInLinkRequest("down@example.com", "Ada", "Lovelace", SignInUrl), Ct));

        var items = await _dynamoDb.ScanAsync(new Amazon.DynamoDBv2.Model.ScanRequest { TableName = _table }, Ct);
        Assert.DoesNotContain(items.Items, i => i["pk"].S.StartsWith("SUB#", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASessionEndsOnSignOutAndAtItsLifetime()
    {
        var options = new AccountOptions { SessionLifetime = TimeSpan.FromHours(12) };
        var sessions = Sessions(options);
        var ended = await sessions.StartAsync("stripe#ended", Ct);
        var lapsing = await sessions.StartAsync("stripe#lapsing", Ct);

        await sessions.EndAsync(ended.Token.Reveal(), Ct);

        Assert.Null(await sessions.FindAsync(ended.Token.Reveal(), Ct));
        Assert.Equal("stripe#lapsing", await sessions.FindAsync(lapsing.Token.Reveal(), Ct));
        _clock.Advance(TimeSpan.FromHours(12));
        Assert.Null(await sessions.FindAsync(lapsing.Token.Reveal(), Ct));
        Assert.Null(await sessions.FindAsync("not a token", Ct));
    }

}
