using System.Text.Json.Nodes;

namespace Monetization.Tests.Stripe;

/// <summary>Stripe's published example objects (<c>Fixtures/</c>), which the emulator's answers are checked against.</summary>
internal static class StripeFixtures
{
    /// <param name="kind">The object's <c>object</c> value, e.g. <c>invoice</c> or <c>billing_portal.session</c>.</param>
    public static JsonObject Documented(string kind) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Stripe", "Fixtures", kind + ".json")))!.AsObject();
}
