using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Monetization.Core;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Core.Usage;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Marketplace;

using Monetization.Tests.Accounts;

namespace Monetization.Tests.Usage;

/// <summary>
/// One step of a run: <see cref="Serve"/> requests with a key (three clients at once); <see cref="Revoke"/> access while
/// those clients call it and, with <see cref="DuringReport"/>, while a report is in flight; <see cref="Regrant"/> a
/// suspended subscriber; <see cref="Report"/> usage while the provider fails the first <see cref="Faults"/> calls
/// (before or after doing the work, as <see cref="AnswerLost"/> says); <see cref="Cap"/> a Stripe subscriber's spend at
/// one cent while those clients call the key (the cap stops it at once, or at a report, once a cent is billed), and
/// <see cref="Lift"/> the cap.
/// </summary>
public sealed record UsageStep(string Kind, int Key, int Requests, int Faults, bool AnswerLost, bool DuringReport, bool Cancel)
{
    public const string Serve = "serve";
    public const string Revoke = "revoke";
    public const string Regrant = "regrant";
    public const string Report = "report";
    public const string Cap = "cap";
    public const string Lift = "lift";

    public override string ToString() => Kind switch
    {
        Serve => $"serve(k{Key}, {Requests})",
        Revoke => $"revoke(k{Key}{(Cancel ? ", canceled" : string.Empty)}, serving {Requests}{(DuringReport ? ", report in flight" : string.Empty)})",
        Regrant => $"regrant(k{Key})",
        Cap => $"cap(k{Key}, serving {Requests})",
        Lift => $"lift(k{Key})",
        _ => $"report({Faults} faults{(AnswerLost ? " after the work" : string.Empty)})",
    };
}

/// <summary>
/// Served equals billed, on both channels, for random runs of usage, revocations while keys are being called, reports in
/// flight and provider failures, with GetUsage lagging behind the requests served (as production does): the demo API
/// of the API Gateway stand-in serves each request (a disabled key keeps working for up to a second, as the stand-in's
/// key cache refreshes), and what Stripe's meter and invoice items, or Marketplace's metering records, hold at the end
/// must equal what each key was served.
/// </summary>
public sealed class ServedEqualsBilledTests : IClassFixture<UsageEnvironmentFixture>, IDisposable
{
    private const int Runs = 5;
    private const int Keys = 3;
    private static readonly TimeSpan Lag = TimeSpan.FromMilliseconds(300);

    // Real time on the Stripe channel: longer than the lag plus the second a disabled key may still serve.
    private static readonly TimeSpan SettleWindow = TimeSpan.FromSeconds(1.5);

    private readonly OfflineEnvironment _environment;

    public ServedEqualsBilledTests(UsageEnvironmentFixture fixture)
    {
        ArgumentNullException.ThrowIfNull(fixture);
        _environment = fixture.Environment;
        _environment.Usage.UsageLag = Lag;
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    // A settled key of an ended subscription is deleted at the next run, so runs also cross deletions (and regrants after them).
    private static Dictionary<string, string?> Settings => new()
    {
        ["Usage:SettleWindow"] = SettleWindow.ToString("c", CultureInfo.InvariantCulture),
        ["Usage:EndedKeyRetention"] = TimeSpan.Zero.ToString("c", CultureInfo.InvariantCulture),
    };

    public void Dispose() => _environment.Usage.UsageLag = TimeSpan.Zero;

    [Fact]
    public async Task EveryRequestAStripeKeyServedIsBilledOnceHoweverAccessEnds()
    {
        int deleted = 0, capped = 0;
        foreach (var steps in StepsGen(stripe: true).Sample(Runs, new Rnd(17), 20))
        {
            var run = new StripeRun(_environment, steps);
            await run.RunAsync();
            deleted += run.EndedKeysDeleted;
            capped += run.CapsReached;
        }

        Assert.True(deleted > 0, "the runs crossed no deletion of an ended key");
        Assert.True(capped > 0, "no spend cap stopped a key in the runs");
    }

    /// <summary>
    /// The Marketplace channel, in a class (and environment) of its own: both channels' runs wait on real time, and as
    /// two classes they wait at the same time.
    /// </summary>
    public sealed class OnMarketplace : IClassFixture<UsageEnvironmentFixture>, IDisposable
    {
        private readonly OfflineEnvironment _environment;

        public OnMarketplace(UsageEnvironmentFixture fixture)
        {
            ArgumentNullException.ThrowIfNull(fixture);
            _environment = fixture.Environment;
            _environment.Usage.UsageLag = Lag;
        }

        public void Dispose() => _environment.Usage.UsageLag = TimeSpan.Zero;

        [Fact]
        public async Task EveryRequestAMarketplaceKeyServedIsMeteredOnceHoweverAccessEnds()
        {
            var deleted = 0;
            foreach (var steps in StepsGen(stripe: false).Sample(Runs, new Rnd(29), 20))
            {
                var run = new MarketplaceRun(_environment, steps);
                await run.RunAsync();
                deleted += run.EndedKeysDeleted;
            }

            Assert.True(deleted > 0, "the runs crossed no deletion of an ended key");
        }
    }

    private static Gen<UsageStep[]> StepsGen(bool stripe)
    {
        var key = Gen.Choose(0, Keys - 1);
        var serve = from k in key from n in Gen.Choose(1, 25) select new UsageStep(UsageStep.Serve, k, n, 0, false, false, false);
        var revoke = from k in key
                     from n in Gen.Choose(5, 40)
                     from during in Gen.Elements(true, false)
                     from cancel in Gen.Elements(true, false)
                     select new UsageStep(UsageStep.Revoke, k, n, 0, false, during, cancel);
        var report = from f in Gen.Choose(0, 4) from lost in Gen.Elements(true, false) select new UsageStep(UsageStep.Report, 0, 0, f, lost, false, false);
        var regrant = from k in key select new UsageStep(UsageStep.Regrant, k, 0, 0, false, false, false);
        var cap = from k in key from n in Gen.Choose(5, 40) select new UsageStep(UsageStep.Cap, k, n, 0, false, false, false);
        var lift = from k in key select new UsageStep(UsageStep.Lift, k, 0, 0, false, false, false);
        var step = stripe
            ? Gen.Frequency((4, serve), (2, revoke), (3, report), (1, regrant), (2, cap), (1, lift))
            : Gen.Frequency((4, serve), (2, revoke), (3, report));
        return Gen.Choose(6, 12).SelectMany(n => step.ArrayOf(n));
    }

    /// <summary>One run on one channel: its own world (ledger table, usage plans), keys with real values, the steps, then settling.</summary>
    private abstract class Run(OfflineEnvironment environment, UsageStep[] steps) : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<int, int> _served = new();
        private protected int _deleted;

        /// <summary>Settled keys of ended subscriptions the run's reports deleted.</summary>
        public int EndedKeysDeleted => Volatile.Read(ref _deleted);

        protected OfflineEnvironment Environment { get; } = environment;

        protected UsageWorld World { get; private set; } = null!;

        protected string[] KeyIds { get; } = new string[Keys];

        protected string[] KeyValues { get; } = new string[Keys];

        /// <summary>Who holds each key: a key deleted once it settled is no longer found by its id.</summary>
        protected string[] SubscriberIds { get; } = new string[Keys];

        protected string Scenario => string.Join(", ", steps.Select(s => s.ToString()));

        public async Task RunAsync()
        {
            await using var _ = this;
            World = await UsageWorld.CreateAsync(Environment, DateTimeOffset.UtcNow, Token);
            for (var i = 0; i < Keys; i++)
            {
                (KeyIds[i], KeyValues[i]) = await SubscribeAsync(i);
                SubscriberIds[i] = (await World.SubscriberHoldingAsync(KeyIds[i])).Id;
            }

            foreach (var step in steps)
            {
                switch (step.Kind)
                {
                    case UsageStep.Serve:
                        await ServeAsync(step.Key, step.Requests);
                        break;
                    case UsageStep.Revoke:
                        var serving = ServeAsync(step.Key, step.Requests);
                        var reporting = step.DuringReport ? ReportAsync() : Task.CompletedTask;
                        await Task.Delay(Random.Shared.Next(0, 20), Token);
                        await RevokeAsync(step.Key, step.Cancel);
                        await Task.WhenAll(serving, reporting);
                        break;
                    case UsageStep.Regrant:
                        await RegrantAsync(step.Key);
                        break;
                    case UsageStep.Cap:
                        var served = ServeAsync(step.Key, step.Requests);
                        await Task.Delay(Random.Shared.Next(0, 20), Token);
                        await CapAsync(step.Key, capped: true);
                        await served;
                        break;
                    case UsageStep.Lift:
                        await CapAsync(step.Key, capped: false);
                        break;
                    default:
                        await ReportWithFaultsAsync(step.Faults, step.AnswerLost);
                        break;
                }
            }

            await SettleAsync();

            // The next run deletes the settled keys of ended subscriptions (no retention here); nothing is billed twice.
            Assert.Equal(0, await ReportAsync());
            for (var i = 0; i < Keys; i++)
            {
                Assert.True(
                    _served.GetValueOrDefault(i) == await BilledAsync(i),
                    $"key {i}: served {_served.GetValueOrDefault(i)}, billed {await BilledAsync(i)}; steps: {Scenario}");
            }
        }

        public async ValueTask DisposeAsync()
        {
            Faults.Clear();
            if (World is not null)
            {
                await World.DisposeAsync();
            }
        }

        protected abstract FaultInjector Faults { get; }

        protected abstract string FaultPath { get; }

        protected abstract Task<(string KeyId, string Value)> SubscribeAsync(int key);

        protected abstract Task RevokeAsync(int key, bool cancel);

        protected virtual Task RegrantAsync(int key) => Task.CompletedTask;

        protected virtual Task CapAsync(int key, bool capped) => Task.CompletedTask;

        /// <returns>The run's failures.</returns>
        protected abstract Task<int> ReportAsync();

        protected abstract Task<long> BilledAsync(int key);

        /// <summary>Reports until every ended key has settled and nothing failed, as the hourly runs would.</summary>
        protected abstract Task SettleAsync();

        protected async Task<bool> AnySettlingAsync()
        {
            foreach (var subscriberId in SubscriberIds)
            {
                if ((await SubscriberAsync(subscriberId)).SettlingSince is not null)
                {
                    return true;
                }
            }

            return false;
        }

        protected async Task<Subscriber> SubscriberAsync(string subscriberId) =>
            await World.Ledger.GetAsync(subscriberId, Token) ?? throw new InvalidOperationException($"{subscriberId} has no record; steps: {Scenario}");

        private async Task ReportWithFaultsAsync(int faults, bool answerLost)
        {
            if (faults > 0)
            {
                Faults.Add(new FaultRule { Method = "POST", PathPrefix = FaultPath, Status = 500, Count = faults, Phase = answerLost ? FaultPhase.After : FaultPhase.Before });
            }

            try
            {
                await ReportAsync();
            }
            finally
            {
                Faults.Clear();
            }
        }

        /// <summary>Three clients call the demo API with the key; every 200 is a request served.</summary>
        private async Task ServeAsync(int key, int requests)
        {
            using var http = new HttpClient { BaseAddress = Environment.Usage.DemoApiEndpoint };
            var left = requests;
            await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
            {
                while (Interlocked.Decrement(ref left) >= 0)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"/{OfflineEnvironment.ApiStage}/served");
                    request.Headers.Add("x-api-key", KeyValues[key]);
                    using var response = await http.SendAsync(request, Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        _served.AddOrUpdate(key, 1, (_, n) => n + 1);
                    }
                }
            }));
        }
    }

    private sealed class StripeRun(OfflineEnvironment environment, UsageStep[] steps) : Run(environment, steps)
    {
        private readonly string[] _customers = new string[Keys];

        protected override FaultInjector Faults => Environment.Stripe.Faults;

        protected override string FaultPath => "/v1/";

        private readonly CollectingKeyMintQueue _mints = new();

        private SubscriptionAccess Access => new(
            World.Ledger,
            World.Resolve<ApiKeyAccess>(),
            new RequestKey(World.Ledger, _mints, TimeProvider.System),
            World.Resolve<IBilling>(),
            new BillingOptions(),
            new StripeChannelOptions { StripeUsagePlanId = World.StripePlanId },
            TimeProvider.System);

        protected override async Task<(string KeyId, string Value)> SubscribeAsync(int key)
        {
            var name = $"served-{Guid.NewGuid():N}";
            var access = World.Resolve<ApiKeyAccess>();
            var created = await access.FindOrCreateAsync(new KeyHolder(name, Channel.Stripe, name, null), includeValue: true, Token);
            await access.GrantAsync(created.Id, created.Enabled, World.StripePlanId, Token);
            _customers[key] = await World.StripeSubscriberAsync(created.Id, Token);
            return (created.Id, created.Value!.Reveal());
        }

        protected override async Task RevokeAsync(int key, bool cancel)
        {
            var record = await SubscriberAsync(SubscriberIds[key]);
            if (record.Status == SubscriberStatus.Cancelled)
            {
                return;
            }

            var status = cancel ? BillingSubscriptionStatus.Canceled : BillingSubscriptionStatus.Unpaid;
            await Access.FollowAsync(record, new BillingSubscription(record.StripeSubscriptionId!, _customers[key], status), Token);
        }

        protected override async Task RegrantAsync(int key)
        {
            var record = await SubscriberAsync(SubscriberIds[key]);
            if (record.Status == SubscriberStatus.Suspended)
            {
                // Paid again: Stripe reactivates an unpaid subscription, never a canceled one. A key deleted meanwhile
                // was replaced by a new one: the clients call with that from now on.
                await Access.FollowAsync(record, new BillingSubscription(record.StripeSubscriptionId!, _customers[key], BillingSubscriptionStatus.Active), Token);

                // A subscriber whose key was deleted gets a new one from the key minting queue's consumer.
                Assert.Empty((await World.Resolve<MintKeys>().MintAsync(_mints.Take(), Token)).Failed);
                var granted = (await SubscriberAsync(SubscriberIds[key])).ApiKeyId!;
                if (granted != KeyIds[key])
                {
                    (KeyIds[key], KeyValues[key]) = (granted, (await World.Resolve<ApiKeyAccess>().ReadValueAsync(granted, Token))!.Reveal());
                }
            }
        }

        /// <summary>Keys a spend cap stopped, at once or at a report.</summary>
        public int CapsReached { get; private set; }

        /// <summary>
        /// A cap of one cent (ten requests at the world's price), or none: the billing period is recorded as the one
        /// that began a day ago, as every subscription event would have it.
        /// </summary>
        protected override async Task CapAsync(int key, bool capped)
        {
            var now = DateTimeOffset.UtcNow;
            await World.Ledger.UpdateAsync(
                SubscriberIds[key],
                current => current is { PeriodStart: null } ? current with { PeriodStart = now.AddDays(-1), PeriodEnd = now.AddDays(29) } : null,
                known: null,
                Token);
            var caps = World.Resolve<SpendCaps>();
            var before = (await SubscriberAsync(SubscriberIds[key])).CapReachedAt;
            await caps.SetAsync(SubscriberIds[key], capped ? new Money(1, "usd") : null, Token);
            CapsReached += before is null && (await SubscriberAsync(SubscriberIds[key])).CapReachedAt is not null ? 1 : 0;
        }

        protected override async Task<int> ReportAsync()
        {
            var summary = await World.StripeReporting(Settings).RunAsync(DateTimeOffset.UtcNow, Token);
            Interlocked.Add(ref _deleted, summary.EndedKeysDeleted);
            CapsReached += summary.CapsReached;
            return summary.Failures;
        }

        protected override Task<long> BilledAsync(int key) => Task.FromResult(
            Environment.Stripe.MeterEvents.Where(e => e.CustomerId == _customers[key]).Sum(e => e.Value)
            + Environment.Stripe.InvoiceItems.Where(i => i.CustomerId == _customers[key]).Sum(i => i.Quantity));

        protected override async Task SettleAsync()
        {
            for (var round = 0; round < 6; round++)
            {
                await Task.Delay(SettleWindow + Lag, Token);
                var failures = await ReportAsync();
                if (failures == 0 && !await AnySettlingAsync())
                {
                    return;
                }
            }

            Assert.Fail($"keys still settling after six reports; steps: {Scenario}");
        }
    }

    private sealed class MarketplaceRun(OfflineEnvironment environment, UsageStep[] steps) : Run(environment, steps)
    {
        private readonly MarketplaceCustomer[] _buyers = new MarketplaceCustomer[Keys];
        private int _events;

        protected override FaultInjector Faults => Environment.Marketplace.Faults;

        protected override string FaultPath => "/BatchMeterUsage";

        private ApplySubscriptionEvent Apply
        {
            get
            {
                var options = new MarketplaceOptions { UsagePlanId = World.MarketplacePlanId, ProductCodes = [OfflineEnvironment.MarketplaceProductCode] };
                var access = new MarketplaceAccess(World.Ledger, World.Resolve<ApiKeyAccess>(), options, World.Clock, NullLogger<MarketplaceAccess>.Instance);
                var identity = new MarketplaceIdentity(World.Ledger, access, World.Clock, NullLogger<MarketplaceIdentity>.Instance);
                var keys = new RequestKey(World.Ledger, new InlineKeyMintQueue { Consumer = World.Resolve<MintKeys>() }, World.Clock);
                return new ApplySubscriptionEvent(World.Ledger, identity, access, keys, World.MarketplaceMetering(Settings), options, World.Clock, NullLogger<ApplySubscriptionEvent>.Instance);
            }
        }

        protected override async Task<(string KeyId, string Value)> SubscribeAsync(int key)
        {
            var account = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(CultureInfo.InvariantCulture);
            var license = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
            await Environment.Marketplace.DeliverEventBridgeAsync(new AgreementEvent("License Updated - Manufacturer", account, license, OfflineEnvironment.MarketplaceProductCode), Token);
            _buyers[key] = MarketplaceCustomer.FromLicense(account, license);
            await Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, key), Token);
            var keyId = (await World.Ledger.GetAsync(_buyers[key].SubscriberId, Token))!.ApiKeyId!;
            var value = (await World.Resolve<IApiKeys>().GetAsync(keyId, includeValue: true, Token))!.Value!.Reveal();
            return (keyId, value);
        }

        protected override async Task RevokeAsync(int key, bool cancel)
        {
            var buyer = _buyers[key];
            await Environment.Marketplace.DeliverEventBridgeAsync(
                new AgreementEvent("License Deprovisioned - Manufacturer", buyer.CustomerAwsAccountId!, buyer.LicenseArn!, OfflineEnvironment.MarketplaceProductCode), Token);
            await Apply.ExecuteAsync(Event(SubscriptionAction.UnsubscribeSuccess, key), Token);
        }

        protected override async Task<int> ReportAsync()
        {
            var summary = await World.MarketplaceMetering(Settings).RunAsync(World.Clock.GetUtcNow(), Token);
            Interlocked.Add(ref _deleted, summary.EndedKeysDeleted);
            return summary.Failures;
        }

        protected override Task<long> BilledAsync(int key) => Task.FromResult<long>(
            Environment.Marketplace.Metered.Where(m => m.CustomerAwsAccountId == _buyers[key].CustomerAwsAccountId && m.LicenseArn == _buyers[key].LicenseArn).Sum(m => m.Quantity));

        /// <summary>Hourly runs: Marketplace takes one record a buyer and hour, so what an hour already metered waits for the next.</summary>
        protected override async Task SettleAsync()
        {
            await Task.Delay(SettleWindow + Lag, Token);
            for (var round = 0; round < 6; round++)
            {
                World.Clock.Advance(TimeSpan.FromHours(1));
                var failures = await ReportAsync();
                if (failures == 0 && !await AnySettlingAsync())
                {
                    return;
                }
            }

            Assert.Fail($"keys still settling after six hourly reports; steps: {Scenario}");
        }

        private SubscriptionEvent Event(SubscriptionAction action, int key) => new(
            action, _buyers[key], OfflineEnvironment.MarketplaceProductCode, World.Clock.GetUtcNow().AddSeconds(Interlocked.Increment(ref _events)), $"served-{Guid.NewGuid():N}", NotificationSource.EventBridge);
    }
}
