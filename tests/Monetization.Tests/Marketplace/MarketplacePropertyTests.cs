using Monetization.Core.ApiKeys;
using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Monetization.Core.Marketplace;
using static Monetization.Tests.Marketplace.MarketplaceWorld;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// One delivery: a lifecycle event, or (when <see cref="Action"/> is null) a landing. <see cref="ByLicense"/> events
/// name the buyer by account + license, as EventBridge's license events do, instead of by CustomerIdentifier.
/// </summary>
public sealed record Step(int Buyer, SubscriptionAction? Action, int Minute, bool ForeignProduct, int Serial, bool ByLicense = false)
{
    public override string ToString() => Action is null
        ? $"landing(b{Buyer})"
        : $"{Action}(b{Buyer}{(ByLicense ? " by license" : string.Empty)}, t{Minute}{(ForeignProduct ? ", foreign" : string.Empty)}, #{Serial})";
}

public sealed record Scenario(IReadOnlyList<Step> Steps, int FaultSeed, bool WithFaults)
{
    public override string ToString() =>
        $"faults={WithFaults} seed={FaultSeed.ToString(CultureInfo.InvariantCulture)} steps=[{string.Join(", ", Steps)}]";
}

public sealed class MarketplacePropertyTests
{
    private const int Runs = 1000;

    private const int LinkedBuyer = 3;

    /// <summary>
    /// Two legacy buyers whose key names share a prefix, one new-style buyer, and one legacy buyer whom license events
    /// name by account + license (<see cref="LinkedBuyer"/>; ResolveCustomer returns both names).
    /// </summary>
    private static readonly MarketplaceCustomer[] Buyers =
    [
        MarketplaceCustomer.FromCustomerIdentifier("CID-A"),
        MarketplaceCustomer.FromCustomerIdentifier("CID-AB"),
        MarketplaceCustomer.FromLicense("845735284135", "arn:aws:license-manager::845735284135:license:l-0123456789abcdef0123456789abcdef"),
        MarketplaceCustomer.FromCustomerIdentifier("CID-L")
            .Link(MarketplaceCustomer.FromLicense("999988887777", "arn:aws:license-manager::999988887777:license:l-feedfacefeedfacefeedfacefeedface")),
    ];

    /// <summary>How EventBridge's license events name <see cref="LinkedBuyer"/> (the other ARN shape, same license).</summary>
    private static readonly MarketplaceCustomer LinkedByLicense =
        MarketplaceCustomer.FromLicense("999988887777", "aws:license-manager:us-east-1:999988887777:l-feedfacefeedfacefeedfacefeedface");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void AccessFollowsTheLatestEventAndEachBuyerHasOneKeyWhateverTheDeliveryOrder()
    {
        var property = Prop.ForAll(Arb.From(ScenarioGen()), scenario => Holds(scenario));

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(Runs), property);
    }

    [Fact]
    public async Task ConcurrentLandingAndSubscribeSuccessYieldOneKeyWithAccess()
    {
        for (var i = 0; i < 300; i++)
        {
            var world = new MarketplaceWorld();
            var buyer = Buyers[i % Buyers.Length];
            var landing = Task.Run(() => world.Landing.ExecuteAsync(world.TokenFor(buyer), Ct), Ct);
            var subscribe = Task.Run(() => world.Apply.ExecuteAsync(Event(SubscriptionAction.SubscribeSuccess, buyer, 10), Ct), Ct);

            await Task.WhenAll(landing, subscribe);

            var key = Assert.Single(world.Keys.Keys);
            Assert.True(world.Keys.HasAccess(UsagePlanId, key.Id), $"iteration {i}: no access");
            // The landing shows the key when it was made by the time it looked, else the account page will, once.
            var shown = (await landing) switch
            {
                LandingOutcome.Granted granted => granted.ApiKeyOnce,
                LandingOutcome.Pending pending => pending.ApiKeyOnce,
                LandingOutcome.Activating => null,
                var other => throw new Xunit.Sdk.XunitException($"iteration {i}: unexpected landing outcome {other}"),
            };
            var subscriber = await world.Ledger.GetAsync(buyer.SubscriberId, Ct);
            Assert.True(subscriber!.Registered && subscriber.Subscribed);
            Assert.Equal(key.Id, subscriber.ApiKeyId);
            if (shown is not null)
            {
                Assert.Equal(key.Value, shown);
                Assert.Equal(key.Id, subscriber.ShownApiKeyId);
            }
            else
            {
                Assert.Null(subscriber.ShownApiKeyId);
            }
        }
    }

    [Fact]
    public async Task ConcurrentLandingAndLicenseEventsOfOneBuyerYieldOneKeyFollowingTheNewestEvent()
    {
        SubscriptionAction[] actions = [.. Enum.GetValues<SubscriptionAction>()];
        var random = new Random(20261201);
        var buyer = Buyers[LinkedBuyer];
        for (var i = 0; i < 300; i++)
        {
            var world = new MarketplaceWorld();
            var events = Enumerable.Range(0, random.Next(1, 5))
                .Select(n => Event(actions[random.Next(actions.Length)], random.Next(2) == 0 ? buyer : LinkedByLicense, random.Next(0, 4), $"evt-{n}"))
                .ToList();
            // An event whose key under the license name the landing deletes mid-grant fails like API Gateway's 404
            // would; Lambda redelivers it, and the redelivery finds the buyer through the alias.
            var deliveries = events
                .Select(e => (Task)Task.Run(() => Redelivered(() => world.Apply.ExecuteAsync(e, Ct)), Ct))
                .Append(Task.Run(() => world.Landing.ExecuteAsync(world.TokenFor(buyer), Ct), Ct))
                .ToList();

            await Task.WhenAll(deliveries);

            var order = $"iteration {i}: [{string.Join(", ", events.Select(e => $"{e.Action}({e.Customer})@{e.Timestamp:mm}"))}]";
            // A buyer whose every delivery so far ended the subscription never awaited a key, so may have none.
            Assert.True(world.Keys.Keys.Count == 1 || (world.Keys.Keys.Count == 0 && !ExpectedAccess(events)), $"{order}: {world.Keys.Keys.Count} keys");
            Assert.True(ExpectedAccess(events) == world.HasAccess(buyer), $"{order}: expected access {ExpectedAccess(events)}");
        }
    }

    [Fact]
    public async Task ConcurrentDeliveriesConvergeOnTheLatestEvent()
    {
        SubscriptionAction[] actions = [.. Enum.GetValues<SubscriptionAction>()];
        var random = new Random(20260701);
        for (var i = 0; i < 300; i++)
        {
            var world = new MarketplaceWorld();
            var buyer = Buyers[i % Buyers.Length];
            var events = Enumerable.Range(0, random.Next(2, 7))
                .Select(n => Event(actions[random.Next(actions.Length)], buyer, random.Next(0, 4), $"evt-{n}"))
                .ToList();
            var deliveries = events
                .Select(e => (Task)Task.Run(() => world.Apply.ExecuteAsync(e, Ct), Ct))
                .Append(Task.Run(() => world.Landing.ExecuteAsync(world.TokenFor(buyer), Ct), Ct))
                .ToList();

            await Task.WhenAll(deliveries);

            var keys = world.Keys.KeysNamed(buyer.ApiKeyName).Count;
            Assert.True(keys == 1 || (keys == 0 && !ExpectedAccess(events)), $"iteration {i}: {keys} keys");
            Assert.True(
                ExpectedAccess(events) == world.HasAccess(buyer),
                $"iteration {i}: expected access {ExpectedAccess(events)} after [{string.Join(", ", events.Select(e => $"{e.Action}@{e.Timestamp:mm}"))}]");
        }
    }

    private static Gen<Scenario> ScenarioGen()
    {
        var action = Gen.Elements(Enum.GetValues<SubscriptionAction>());
        var eventGen =
            from buyer in Gen.Choose(0, Buyers.Length - 1)
            from act in action
            from minute in Gen.Choose(0, 5)
            from foreign in Gen.Frequency((9, Gen.Constant(false)), (1, Gen.Constant(true)))
            from byLicense in Gen.Elements(false, true)
            select (Buyer: buyer, Action: act, Minute: minute, Foreign: foreign, ByLicense: byLicense && buyer == LinkedBuyer);
        return
            from events in Gen.ListOf(eventGen).Select(l => l.Select((e, serial) => new Step(e.Buyer, e.Action, e.Minute, e.Foreign, serial, e.ByLicense)).ToArray())
            from duplicates in Gen.SubListOf(events)
            from landings in Gen.ListOf(Gen.Choose(0, Buyers.Length - 1)).Select(l => l.Take(4).Select(b => new Step(b, null, 0, false, -1)))
            from steps in Gen.Shuffle(events.Concat(duplicates).Concat(landings))
            from seed in Gen.Choose(0, int.MaxValue)
            from withFaults in Gen.Elements(false, true)
            select new Scenario(steps, seed, withFaults);
    }

    private static bool Holds(Scenario scenario) => Task.Run(() => HoldsAsync(scenario)).GetAwaiter().GetResult();

    private static async Task<bool> HoldsAsync(Scenario scenario)
    {
        var faults = new RandomFaults(scenario.FaultSeed, scenario.WithFaults ? 0.03 : 0);
        var world = new MarketplaceWorld(faults);
        var delivered = new List<(Step Step, SubscriptionEvent Event)>();

        // A name's key is made the first time a delivery leaves its record awaiting one (not ended), and stays.
        var keyMade = new HashSet<MarketplaceCustomer>();
        var landedSoFar = new HashSet<int>();
        void NoteKey(MarketplaceCustomer name, IEnumerable<SubscriptionEvent> recordEvents)
        {
            if (ExpectedOutcome(recordEvents) != typeof(LandingOutcome.Ended))
            {
                keyMade.Add(name);
            }
        }

        foreach (var step in scenario.Steps)
        {
            var buyer = Buyers[step.Buyer];
            if (step.Action is { } action)
            {
                var subscriptionEvent = Event(
                    action, step.ByLicense ? LinkedByLicense : buyer, step.Minute, $"evt-{step.Serial}", step.ForeignProduct ? OtherProductCode : ProductCode);
                await UntilDelivered(world, () => world.Apply.ExecuteAsync(subscriptionEvent, Ct));
                delivered.Add((step, subscriptionEvent));
                if (!step.ForeignProduct)
                {
                    // Until the landing links them, the license name is a record of its own.
                    var ours = Ours(delivered, step.Buyer);
                    var (name, recordEvents) = landedSoFar.Contains(step.Buyer) ? (buyer, ours)
                        : (subscriptionEvent.Customer, ours.Where(e => e.Customer == subscriptionEvent.Customer).ToList());
                    NoteKey(name, recordEvents);
                }
            }
            else
            {
                await LandsAsExpected(world, step.Buyer, Ours(delivered, step.Buyer));
                landedSoFar.Add(step.Buyer);
                NoteKey(buyer, Ours(delivered, step.Buyer));
            }
        }

        faults.Enabled = false;
        for (var b = 0; b < Buyers.Length; b++)
        {
            var buyer = Buyers[b];
            var ours = Ours(delivered, b);
            var landed = scenario.Steps.Any(s => s.Buyer == b && s.Action is null);
            var byName = landed ? ours : [.. ours.Where(e => e.Customer == buyer)];
            ExpectKeys(world, buyer, keyMade.Contains(buyer) ? 1 : 0, ExpectedAccess(byName));
            if (b == LinkedBuyer && !landed)
            {
                // Before the landing nothing tells the two names apart from two buyers.
                var byLicense = ours.Where(e => e.Customer == LinkedByLicense).ToList();
                ExpectKeys(world, LinkedByLicense, keyMade.Contains(LinkedByLicense) ? 1 : 0, ExpectedAccess(byLicense));
            }
            else if (b == LinkedBuyer)
            {
                ExpectKeys(world, LinkedByLicense, 0, false);
            }

            var subscriber = await world.Ledger.GetAsync(buyer.SubscriberId, Ct);
            if ((subscriber?.Registered ?? false) != landed || (subscriber?.Subscribed ?? false) != ExpectedAccess(byName))
            {
                throw new InvalidOperationException($"{buyer} ledger record {subscriber} disagrees with the deliveries");
            }
        }

        // However the events named the buyer, once they land there is at most one key and it follows the newest event.
        await LandsAsExpected(world, LinkedBuyer, Ours(delivered, LinkedBuyer));
        landedSoFar.Add(LinkedBuyer);
        NoteKey(Buyers[LinkedBuyer], Ours(delivered, LinkedBuyer));
        ExpectKeys(world, Buyers[LinkedBuyer], keyMade.Contains(Buyers[LinkedBuyer]) ? 1 : 0, ExpectedAccess(Ours(delivered, LinkedBuyer)));
        ExpectKeys(world, LinkedByLicense, 0, false);
        return true;
    }

    private static List<SubscriptionEvent> Ours(List<(Step Step, SubscriptionEvent Event)> delivered, int buyer) =>
        [.. delivered.Where(d => d.Step.Buyer == buyer && d.Event.ProductCode == ProductCode).Select(d => d.Event)];

    private static async Task LandsAsExpected(MarketplaceWorld world, int buyer, List<SubscriptionEvent> ours)
    {
        var outcome = await UntilDelivered(world, () => world.Landing.ExecuteAsync(world.TokenFor(Buyers[buyer]), Ct));
        var expected = ExpectedOutcome(ours);
        if (outcome.GetType() != expected)
        {
            throw new InvalidOperationException($"landing of {Buyers[buyer]} was {outcome}, expected {expected.Name}");
        }
    }

    private static void ExpectKeys(MarketplaceWorld world, MarketplaceCustomer name, int count, bool access)
    {
        var keys = world.Keys.KeysNamed(name.ApiKeyName);
        if (keys.Count != count)
        {
            throw new InvalidOperationException($"{name} has {keys.Count} keys, expected {count}");
        }

        if (world.HasAccess(name) != access)
        {
            throw new InvalidOperationException($"{name} access is {world.HasAccess(name)}, expected {access}");
        }
    }

    /// <summary>Granted when the newest decision grants, Ended when it revokes, Pending before any decision.</summary>
    private static Type ExpectedOutcome(IEnumerable<SubscriptionEvent> events)
    {
        var deciding = events.Where(e => SubscriptionRules.DecidesAccess(e.Action)).ToList();
        return deciding.Count == 0 ? typeof(LandingOutcome.Pending)
            : ExpectedAccess(deciding) ? typeof(LandingOutcome.Granted)
            : typeof(LandingOutcome.Ended);
    }

    /// <summary>The model: the newest access-deciding event by (time, precedence) decides; notices never do.</summary>
    private static bool ExpectedAccess(IEnumerable<SubscriptionEvent> events) =>
        events
            .Where(e => SubscriptionRules.DecidesAccess(e.Action))
            .OrderBy(e => e.Timestamp)
            .ThenBy(e => SubscriptionRules.Precedence(e.Action))
            .Select(e => (bool?)SubscriptionRules.Grants(e.Action))
            .LastOrDefault() ?? false;

    private static async Task Redelivered(Func<Task> deliver)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await deliver();
                return;
            }
            catch (KeyNotFoundException) when (attempt < 5)
            {
            }
        }
    }

    /// <summary>
    /// Redelivers after an injected crash, as Lambda retries a failed invocation (or the buyer lands again): later, so a
    /// key request whose note a crash left behind is due again.
    /// </summary>
    private static async Task<T> UntilDelivered<T>(MarketplaceWorld world, Func<Task<T>> deliver)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await deliver();
            }
            catch (InjectedFaultException) when (attempt < 200)
            {
                world.Clock.Advance(RequestKey.ResendAfter);
            }
        }
    }
}
