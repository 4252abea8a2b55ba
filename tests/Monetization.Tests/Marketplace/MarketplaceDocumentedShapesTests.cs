using System.Text.Json;
using Monetization.Core.Marketplace;
using Monetization.Core.Marketplace.Notifications;
using Monetization.Emulators.Marketplace;

namespace Monetization.Tests.Marketplace;

/// <summary>
/// One documented example of every Marketplace notification kind (Fixtures/, as AWS's guides show them), held against
/// both the parser and the emulator: an emulator kinder than the service hides bugs.
/// </summary>
public sealed class MarketplaceDocumentedShapesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Kinds() =>
    [
        "sns-subscribe-success",
        "sns-subscribe-fail",
        "sns-unsubscribe-pending",
        "sns-unsubscribe-success",
        "sns-entitlement-updated",
        "eventbridge-license-updated-manufacturer",
        "eventbridge-license-deprovisioned-manufacturer",
        "eventbridge-purchase-agreement-created-manufacturer",
        "eventbridge-purchase-agreement-created-proposer",
        "eventbridge-purchase-agreement-ended-manufacturer",
        "eventbridge-purchase-agreement-ended-proposer",
    ];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void TheParserReadsEveryDocumentedExample(string kind)
    {
        var parsed = Assert.Single(SubscriptionNotificationParser.Parse(Fixture(kind)));

        if (kind.StartsWith("sns-", StringComparison.Ordinal))
        {
            var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(parsed).Value;
            Assert.Equal(kind["sns-".Length..], subscriptionEvent.Action.WireName());
            Assert.Equal("cid:X01EXAMPLEX", subscriptionEvent.Customer.Key);
            Assert.Equal("4k5b3wq6r7example", subscriptionEvent.ProductCode);
        }
        else if (kind.Contains("-license-", StringComparison.Ordinal))
        {
            var subscriptionEvent = Assert.IsType<ParsedNotification.Event>(parsed).Value;
            Assert.Equal(kind.Contains("updated", StringComparison.Ordinal), SubscriptionRules.Grants(subscriptionEvent.Action));
            Assert.Equal("acct:845735284135:l-e52ca6f38bf84d0fafb8802ca15ac11x", subscriptionEvent.Customer.Key);
            Assert.Equal("4k5b3wq6r7example", subscriptionEvent.ProductCode);
        }
        else
        {
            // Documented agreement events name no license or product: the license events decide access.
            Assert.IsType<ParsedNotification.NotApplicable>(parsed);
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task TheEmulatorSendsExactlyTheDocumentedFieldsOfEveryKind(string kind)
    {
        var fixture = Fixture(kind);
        await using var emulator = await MarketplaceEmulator.StartAsync(cancellationToken: Ct);

        var delivery = kind.StartsWith("sns-", StringComparison.Ordinal)
            ? await emulator.DeliverSnsAsync(new SnsNotification(kind["sns-".Length..], "X01EXAMPLEX"), Ct)
            : await emulator.DeliverEventBridgeAsync(
                new AgreementEvent(
                    DetailType(fixture),
                    "845735284135",
                    "aws:license-manager:us-east-1:123456789012:l-e52ca6f38bf84d0fafb8802ca15ac11x"),
                Ct);

        Assert.Equal(Shape(fixture), Shape(delivery.Payload));
    }

    private static string Fixture(string kind) =>
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Marketplace", "Fixtures", kind + ".json"));

    private static string DetailType(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("detail-type").GetString()!;
    }

    /// <summary>Every field's path and JSON type, recursively; SNS's <c>Message</c> (JSON inside a string) is opened too.</summary>
    private static List<string> Shape(string json)
    {
        using var document = JsonDocument.Parse(json);
        var paths = new SortedSet<string>(StringComparer.Ordinal);
        Walk(document.RootElement, "$", paths);
        return [.. paths];
    }

    private static void Walk(JsonElement element, string path, SortedSet<string> paths)
    {
        paths.Add($"{path}: {element.ValueKind}");
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Walk(property.Value, path + "." + property.Name, paths);
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, path + "[]", paths);
                }

                break;
            case JsonValueKind.String when path.EndsWith(".Sns.Message", StringComparison.Ordinal):
                using (var message = JsonDocument.Parse(element.GetString()!))
                {
                    Walk(message.RootElement, path + "<json>", paths);
                }

                break;
        }
    }
}
