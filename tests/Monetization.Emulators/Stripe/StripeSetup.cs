using Stripe;
using BillingV1 = Stripe.Billing;

namespace Monetization.Emulators.Stripe;

/// <summary>What an API owner creates in Stripe before selling, through Stripe.net: a sum meter and a metered price on it.</summary>
public static class StripeSetup
{
    /// <summary>A meter counting <paramref name="eventName"/> events by <c>payload[stripe_customer_id]</c>, summing <c>payload[value]</c>.</summary>
    public static Task<BillingV1.Meter> CreateMeterAsync(StripeClient stripe, string eventName, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stripe);
        return stripe.V1.Billing.Meters.CreateAsync(
            new BillingV1.MeterCreateOptions
            {
                DisplayName = "API requests",
                EventName = eventName,
                DefaultAggregation = new BillingV1.MeterDefaultAggregationOptions { Formula = "sum" },
                CustomerMapping = new BillingV1.MeterCustomerMappingOptions { Type = "by_id", EventPayloadKey = "stripe_customer_id" },
            },
            new RequestOptions { IdempotencyKey = idempotencyKey + "-meter" },
            cancellationToken);
    }

    /// <summary>A product, a meter and a monthly metered price of <paramref name="unitAmountDecimal"/> cents per unit.</summary>
    public static async Task<(string MeterId, string PriceId)> CreateMeteredPriceAsync(
        StripeClient stripe, string productName, string eventName, decimal unitAmountDecimal, string idempotencyKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stripe);
        var product = await stripe.V1.Products.CreateAsync(
            new ProductCreateOptions { Name = productName },
            new RequestOptions { IdempotencyKey = idempotencyKey + "-product" },
            cancellationToken).ConfigureAwait(false);
        var meter = await CreateMeterAsync(stripe, eventName, idempotencyKey, cancellationToken).ConfigureAwait(false);
        var price = await stripe.V1.Prices.CreateAsync(
            new PriceCreateOptions
            {
                Product = product.Id,
                Currency = "usd",
                UnitAmountDecimal = unitAmountDecimal,
                Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "metered", Meter = meter.Id },
            },
            new RequestOptions { IdempotencyKey = idempotencyKey + "-price" },
            cancellationToken).ConfigureAwait(false);
        return (meter.Id, price.Id);
    }

    /// <summary>
    /// What a seller might set up instead of a per-unit price: a graduated, tiered metered price on the meter (0.5 cents
    /// up to 1,000 units, 0.4 after), which the usage reporter cannot price invoice items with.
    /// </summary>
    public static PriceCreateOptions TieredMeteredPrice(string productId, string meterId) => new()
    {
        Product = productId,
        Currency = "usd",
        BillingScheme = "tiered",
        TiersMode = "graduated",
        Tiers =
        [
            new PriceTierOptions { UpTo = 1000, UnitAmountDecimal = 0.5m },
            new PriceTierOptions { UpTo = PriceTierUpTo.Inf, UnitAmountDecimal = 0.4m },
        ],
        Recurring = new PriceRecurringOptions { Interval = "month", UsageType = "metered", Meter = meterId },
    };
}
