using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Monetization.Core.Marketplace;
using static Monetization.Tests.Marketplace.MarketplaceWorld;

namespace Monetization.Tests.Marketplace;

/// <summary>One delivery: a lifecycle event, or (when <see cref="Action"/> is null) a landing.</summary>
public sealed record Step(int Buyer, SubscriptionAction? Action, int Minute, bool ForeignProduct, int Serial)
{
    public override string ToString() => Action is null
        ? $"landing(b{Buyer})"
        : $"{Action}(b{Buyer}, t{Minute}{(ForeignProduct ? ", foreign" : string.Empty)}, #{Serial})";
}

public sealed record Scenario(IReadOnlyList<Step> Steps, int FaultSeed, bool WithFaults)
{
    public override string ToString() =>
        $"faults={WithFaults} seed={FaultSeed.ToString(CultureInfo.InvariantCulture)} steps=[{string.Join(", ", Steps)}]";
}

public sealed class MarketplacePropertyTests
{
    private const int Runs = 1000;

    /// <summary>Two legacy buyers whose key names share a prefix, and one new-style buyer.</summary>
    private static readonly MarketplaceCustomer[] Buyers =
    [
        MarketplaceCustomer.FromCustomerIdentifier("CID-A"),
        MarketplaceCustomer.FromCustomerIdentifier("CID-AB"),
        MarketplaceCustomer.FromLicense("845735284135", "arn:aws:license-manager::845735284135:license:l-0123456789abcdef0123456789abcdef"),
    ];

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
            var shown = (await landing) switch
            {
                LandingOutcome.Granted granted => granted.ApiKey,
                LandingOutcome.Pending pending => pending.ApiKey,
                var other => throw new Xunit.Sdk.XunitException($"iteration {i}: unexpected landing outcome {other}"),
            };
            Assert.Equal(key.Value, shown);
            var subscriber = await world.Ledger.GetAsync(buyer.SubscriberId, Ct);
            Assert.True(subscriber!.Registered && subscriber.Subscribed);
            Assert.Equal(key.Id, subscriber.ApiKeyId);
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

            Assert.Single(world.Keys.KeysNamed(buyer.ApiKeyName));
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
            select (Buyer: buyer, Action: act, Minute: minute, Foreign: foreign);
        return
            from events in Gen.ListOf(eventGen).Select(l => l.Select((e, serial) => new Step(e.Buyer, e.Action, e.Minute, e.Foreign, serial)).ToArray())
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
        var delivered = new List<SubscriptionEvent>();
        foreach (var step in scenario.Steps)
        {
            var buyer = Buyers[step.Buyer];
            if (step.Action is { } action)
            {
                var subscriptionEvent = Event(
                    action, buyer, step.Minute, $"evt-{step.Serial}", step.ForeignProduct ? OtherProductCode : ProductCode);
                await UntilDelivered(() => world.Apply.ExecuteAsync(subscriptionEvent, Ct));
                delivered.Add(subscriptionEvent);
            }
            else
            {
                var outcome = await UntilDelivered(() => world.Landing.ExecuteAsync(world.TokenFor(buyer), Ct));
                var expectGranted = ExpectedAccess(delivered.Where(e => e.Customer == buyer && e.ProductCode == ProductCode));
                if (outcome is LandingOutcome.Granted != expectGranted)
                {
                    throw new InvalidOperationException($"landing of {buyer} was {outcome}, expected granted={expectGranted}");
                }
            }
        }

        faults.Enabled = false;
        for (var b = 0; b < Buyers.Length; b++)
        {
            var buyer = Buyers[b];
            var ours = delivered.Where(e => e.Customer == buyer && e.ProductCode == ProductCode).ToList();
            var landed = scenario.Steps.Any(s => s.Buyer == b && s.Action is null);
            var keys = world.Keys.KeysNamed(buyer.ApiKeyName);
            var expectedKeys = ours.Count > 0 || landed ? 1 : 0;
            if (keys.Count != expectedKeys)
            {
                throw new InvalidOperationException($"{buyer} has {keys.Count} keys, expected {expectedKeys}");
            }

            if (world.HasAccess(buyer) != ExpectedAccess(ours))
            {
                throw new InvalidOperationException($"{buyer} access is {world.HasAccess(buyer)}, expected {ExpectedAccess(ours)}");
            }

            var subscriber = await world.Ledger.GetAsync(buyer.SubscriberId, Ct);
            if ((subscriber?.Registered ?? false) != landed || (subscriber?.Subscribed ?? false) != ExpectedAccess(ours))
            {
                throw new InvalidOperationException($"{buyer} ledger record {subscriber} disagrees with the deliveries");
            }
        }

        return true;
    }

    /// <summary>The model: the newest access-deciding event by (time, precedence) decides; notices never do.</summary>
    private static bool ExpectedAccess(IEnumerable<SubscriptionEvent> events) =>
        events
            .Where(e => SubscriptionRules.DecidesAccess(e.Action))
            .OrderBy(e => e.Timestamp)
            .ThenBy(e => SubscriptionRules.Precedence(e.Action))
            .Select(e => (bool?)SubscriptionRules.Grants(e.Action))
            .LastOrDefault() ?? false;

    /// <summary>Redelivers after an injected crash, as Lambda retries a failed invocation.</summary>
    private static async Task<T> UntilDelivered<T>(Func<Task<T>> deliver)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await deliver();
            }
            catch (InjectedFaultException) when (attempt < 200)
            {
            }
        }
    }
}
