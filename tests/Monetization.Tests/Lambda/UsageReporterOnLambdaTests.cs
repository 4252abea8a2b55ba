using System.Globalization;
using System.Text.Json;
using Monetization.Aws.Ledger;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;
using Monetization.Emulators.Marketplace;
using Monetization.Emulators.Recording;
using Stripe;

namespace Monetization.Tests.Lambda;

/// <summary>
/// The published UsageReporter artifact started as the managed dotnet10 runtime starts <c>Handler: UsageReporter</c>,
/// invoked by the hourly schedule's event through a local Runtime API, against moto, the API Gateway usage stand-in and
/// the Stripe and Marketplace emulators. Its AWS calls are recorded for the IAM check.
/// </summary>
[Collection(LambdaCollection.Name)]
public sealed class UsageReporterOnLambdaTests(LambdaFixture lambda)
{
    private const string ScheduledEvent = """
        {"version":"0","id":"5f1a0e57-3e6c-4f0b-9a5e-0c1d2e3f4a5b","detail-type":"Scheduled Event","source":"aws.scheduler","account":"123456789012","time":"2026-12-01T10:00:00Z","region":"us-east-1","resources":["arn:aws:scheduler:us-east-1:123456789012:schedule/default/UsageReporterFunctionHourly"],"detail":"{}"}
        """;

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private OfflineEnvironment Environment => lambda.Environment;

    [Fact]
    public async Task TheScheduledRunBillsStripeAndMarketplaceUsageOnceAndARepeatAddsNothing()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var (stripeKey, customerId) = await StripeSubscriberAsync();
        var buyer = await MarketplaceBuyerAsync();
        Environment.Usage.Count(Environment.StripeUsagePlanId, stripeKey, today, 3);
        Environment.Usage.Count(Environment.MarketplaceUsagePlanId, buyer.ApiKeyId!, today, 2);

        await using var reporter = await StartReporterAsync();
        var process = reporter.Process;

        var first = await InvokeAsync(reporter);
        var second = await InvokeAsync(reporter);

        Assert.True(first.Error is null, first.Error?.ErrorMessage + process.Output);
        Assert.True(second.Error is null, second.Error?.ErrorMessage + process.Output);
        Assert.Equal(3, Environment.Stripe.MeterEvents.Where(e => e.CustomerId == customerId).Sum(e => e.Value));
        Assert.Equal(2, Environment.Marketplace.Metered.Where(m => m.CustomerAwsAccountId == buyer.CustomerAwsAccountId).Sum(m => m.Quantity));
        using var summary = JsonDocument.Parse(second.Response!);
        Assert.Equal(0, summary.RootElement.GetProperty("failures").GetInt64());
        Assert.Contains("\"CloudWatchMetrics\"", process.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheDailyScheduleReconcilesTheLastClosedDayAndAnOwnerCanAskForAnyClosedDay()
    {
        var closed = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-2);
        var (stripeKey, _) = await StripeSubscriberAsync();
        Environment.Usage.Count(Environment.StripeUsagePlanId, stripeKey, closed, 4);

        await using var reporter = await StartReporterAsync();
        var daily = await InvokeAsync(reporter, """{"reconcile": true}""");
        var asked = await InvokeAsync(reporter, $$"""{"reconcile": "{{closed.AddDays(-3):yyyy-MM-dd}}"}""");

        Assert.True(daily.Error is null, daily.Error?.ErrorMessage + reporter.Process.Output);
        using var report = JsonDocument.Parse(daily.Response!);
        Assert.Equal(closed.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), report.RootElement.GetProperty("day").GetString());

        // Counted on a day no report reached: never billed, so drift, and the metric says so.
        Assert.Equal(4, report.RootElement.GetProperty("drift").GetInt64());
        Assert.Contains("4 counted but never billed", reporter.Process.Output, StringComparison.Ordinal);
        Assert.Contains("\"ReconciliationDrift\":4", reporter.Process.Output, StringComparison.Ordinal);
        Assert.True(asked.Error is null, asked.Error?.ErrorMessage);
        using var earlier = JsonDocument.Parse(asked.Response!);
        Assert.Equal(0, earlier.RootElement.GetProperty("drift").GetInt64());
    }

    [Fact]
    public async Task TheScheduledRunBillsSettlingKeysAndTakesThemOutOfTheirPlansOnceNothingIsLeft()
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var (stripeKey, customerId) = await StripeSubscriberAsync(settlingSinceHoursAgo: 2);
        var buyer = await MarketplaceBuyerAsync(settlingSinceHoursAgo: 2);
        Environment.Usage.Count(Environment.StripeUsagePlanId, stripeKey, today, 5);
        Environment.Usage.Count(Environment.MarketplaceUsagePlanId, buyer.ApiKeyId!, today, 4);
        await using var reporter = await StartReporterAsync();

        var billed = await InvokeAsync(reporter);
        var stripePlanAfterBilling = await Environment.UsagePlanKeyIdsAsync(Environment.StripeUsagePlanId, Cancel);
        var settled = await InvokeAsync(reporter);

        Assert.True(billed.Error is null, billed.Error?.ErrorMessage + reporter.Process.Output);
        Assert.True(settled.Error is null, settled.Error?.ErrorMessage + reporter.Process.Output);
        Assert.Contains(stripeKey, stripePlanAfterBilling);

        // The Stripe subscription was canceled: no meter event, one invoice item, put on an invoice once the key settled.
        Assert.DoesNotContain(Environment.Stripe.MeterEvents, e => e.CustomerId == customerId);
        Assert.Equal(5, Assert.Single(Environment.Stripe.InvoiceItems, i => i.CustomerId == customerId).Quantity);
        Assert.Single(Environment.Stripe.Invoices, i => i.CustomerId == customerId && i.SubscriptionId is null);
        Assert.Equal(4, Environment.Marketplace.Metered.Where(m => m.CustomerAwsAccountId == buyer.CustomerAwsAccountId).Sum(m => m.Quantity));
        Assert.DoesNotContain(stripeKey, await Environment.UsagePlanKeyIdsAsync(Environment.StripeUsagePlanId, Cancel));
        Assert.DoesNotContain(buyer.ApiKeyId!, await Environment.UsagePlanKeyIdsAsync(Environment.MarketplaceUsagePlanId, Cancel));
        using var dynamoDb = Environment.DynamoDb();
        Assert.Null((await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).GetAsync(buyer.Id, Cancel))!.SettlingSince);
    }

    [Fact]
    public async Task TheScheduledRunStopsARetiredKeyWhoseOverlapEndedAndDeletesOneThatHasSettled()
    {
        var (current, _) = await StripeSubscriberAsync();
        var due = await KeyInPlanAsync(Environment.StripeUsagePlanId);
        var settled = await KeyInPlanAsync(Environment.StripeUsagePlanId);
        using var dynamoDb = Environment.DynamoDb();
        var ledger = new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName);
        var now = DateTimeOffset.UtcNow;
        var id = (await new DynamoDbUsageLedger(dynamoDb, OfflineEnvironment.LedgerTableName).FindSubscribersByApiKeyAsync([current], Cancel))[current].Id;
        await ledger.UpdateAsync(
            id,
            r => r! with { RetiredKeys = [new RetiredKey(due, now.AddMinutes(-5), null), new RetiredKey(settled, now.AddHours(-3), now.AddHours(-3))] },
            known: null,
            Cancel);
        await using var reporter = await StartReporterAsync();

        var run = await InvokeAsync(reporter);

        Assert.True(run.Error is null, run.Error?.ErrorMessage + reporter.Process.Output);
        var keys = await Environment.ApiKeysAsync(Cancel);
        Assert.False(keys.Single(k => k.Id == due).Enabled);
        Assert.DoesNotContain(keys, k => k.Id == settled);
        Assert.True(keys.Single(k => k.Id == current).Enabled);
        var retired = Assert.Single((await ledger.GetAsync(id, Cancel))!.RetiredKeys);
        Assert.Equal(due, retired.Id);
        Assert.NotNull(retired.DisabledAt);
    }

    [Fact]
    public async Task TheScheduledRunMailsAFreeSubscriberWhoseKeyUsedTheMonthsQuotaOnce()
    {
        var keyId = await KeyInPlanAsync(Environment.FreeUsagePlanId);
        var email = $"free-{Guid.NewGuid():N}@example.com";
        var now = DateTimeOffset.UtcNow;
        await CreateSubscriberAsync(new Subscriber
        {
            Id = $"stripe#{Guid.NewGuid():N}",
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Active,
            ApiKeyId = keyId,
            UsagePlanId = Environment.FreeUsagePlanId,
            Email = email,
            Registered = true,
            Subscribed = true,
            FreePlan = true,
            CreatedAt = now,
            UpdatedAt = now,
        });
        Environment.Usage.Count(Environment.FreeUsagePlanId, keyId, DateOnly.FromDateTime(now.UtcDateTime), Environment.FreeMonthlyQuota);
        await using var reporter = await StartReporterAsync();

        var first = await InvokeAsync(reporter);
        var second = await InvokeAsync(reporter);

        Assert.True(first.Error is null, first.Error?.ErrorMessage + reporter.Process.Output);
        Assert.True(second.Error is null, second.Error?.ErrorMessage + reporter.Process.Output);
        var mail = Assert.Single(Environment.Mailbox.To(email));
        Assert.Equal("You have used this month's free requests", mail.Subject);
        Assert.Contains("https://portal.execute-api.us-east-1.amazonaws.com/account", mail.TextBody, StringComparison.Ordinal);
        Assert.Equal(OfflineEnvironment.EmailFromAddress, mail.From);
    }

    /// <summary>The published UsageReporter started as Lambda starts it, its AWS calls recorded for the IAM check.</summary>
    private Task<ReporterProgram> StartReporterAsync() => ReporterProgram.StartUsageReporterAsync(lambda, Cancel);

    private static Task<LambdaInvocationResult> InvokeAsync(ReporterProgram reporter, string? payload = null) => reporter.InvokeAsync(payload ?? ScheduledEvent, Cancel);

    /// <param name="settlingSinceHoursAgo">Given: the subscription was canceled that long ago and the key is settling.</param>
    private async Task<(string KeyId, string CustomerId)> StripeSubscriberAsync(int? settlingSinceHoursAgo = null)
    {
        var keyId = await KeyInPlanAsync(Environment.StripeUsagePlanId);
        using var http = new HttpClient();
        var customer = await Environment.StripeClient(http).V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "Usage on Lambda" }, new RequestOptions { IdempotencyKey = $"usage-lambda-{Guid.NewGuid():N}" }, Cancel);
        var now = DateTimeOffset.UtcNow;
        await CreateSubscriberAsync(new Subscriber
        {
            Id = $"stripe#{Guid.NewGuid():N}",
            Channel = Channel.Stripe,
            Status = settlingSinceHoursAgo is null ? SubscriberStatus.Active : SubscriberStatus.Cancelled,
            ApiKeyId = keyId,
            UsagePlanId = Environment.StripeUsagePlanId,
            StripeCustomerId = customer.Id,
            StripeSubscriptionId = "sub_" + Guid.NewGuid().ToString("N")[..14],
            Registered = true,
            Subscribed = settlingSinceHoursAgo is null,
            SettlingSince = settlingSinceHoursAgo is { } hours ? now.AddHours(-hours) : null,
            CreatedAt = now,
            UpdatedAt = now,
        });
        return (keyId, customer.Id);
    }

    /// <param name="settlingSinceHoursAgo">Given: the subscription ended that long ago and the key is settling.</param>
    private async Task<Subscriber> MarketplaceBuyerAsync(int? settlingSinceHoursAgo = null)
    {
        var keyId = await KeyInPlanAsync(Environment.MarketplaceUsagePlanId);
        var account = Random.Shared.NextInt64(100_000_000_000, 999_999_999_999).ToString(CultureInfo.InvariantCulture);
        var license = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
        await Environment.Marketplace.DeliverEventBridgeAsync(new AgreementEvent("License Updated - Manufacturer", account, license, OfflineEnvironment.MarketplaceProductCode), Cancel);
        var now = DateTimeOffset.UtcNow;
        var buyer = new Subscriber
        {
            Id = $"mp#acct:{account}:{Guid.NewGuid():N}",
            Channel = Channel.Marketplace,
            Status = settlingSinceHoursAgo is null ? SubscriberStatus.Active : SubscriberStatus.Cancelled,
            ApiKeyId = keyId,
            UsagePlanId = Environment.MarketplaceUsagePlanId,
            CustomerAwsAccountId = account,
            ProductCode = OfflineEnvironment.MarketplaceProductCode,
            LicenseArn = license,
            Registered = true,
            Subscribed = settlingSinceHoursAgo is null,
            SettlingSince = settlingSinceHoursAgo is { } hours ? now.AddHours(-hours) : null,
            CreatedAt = now,
            UpdatedAt = now,
        };
        await CreateSubscriberAsync(buyer);
        return buyer;
    }

    private async Task<string> KeyInPlanAsync(string usagePlanId)
    {
        using var http = Environment.ApiGatewayHttp();
        using var created = await http.PostAsync(
            new Uri(http.BaseAddress!, "/apikeys"),
            new StringContent($$"""{"name":"usage-lambda-{{Guid.NewGuid():N}}","enabled":true}""", System.Text.Encoding.UTF8, "application/json"),
            Cancel);
        created.EnsureSuccessStatusCode();
        using var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Cancel));
        var keyId = key.RootElement.GetProperty("id").GetString()!;
        using var added = await http.PostAsync(
            new Uri(http.BaseAddress!, $"/usageplans/{usagePlanId}/keys"),
            new StringContent($$"""{"keyId":"{{keyId}}","keyType":"API_KEY"}""", System.Text.Encoding.UTF8, "application/json"),
            Cancel);
        added.EnsureSuccessStatusCode();
        return keyId;
    }

    private async Task CreateSubscriberAsync(Subscriber subscriber)
    {
        using var dynamoDb = Environment.DynamoDb();
        Assert.True(await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).TryCreateAsync(subscriber, Cancel));
    }
}
