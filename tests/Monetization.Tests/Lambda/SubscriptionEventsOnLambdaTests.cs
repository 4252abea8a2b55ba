using System.Text.Json;
using Monetization.Aws.Ledger;
using Monetization.Core.Marketplace;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Lambda;
using Monetization.Emulators.Marketplace;
using static Monetization.Tests.Marketplace.MarketplaceDeliveries;

namespace Monetization.Tests.Lambda;

/// <summary>
/// The published SubscriptionEvents artifact started as the managed dotnet10 runtime starts <c>Handler:
/// SubscriptionEvents</c> (<c>dotnet exec SubscriptionEvents.dll</c> from a read-only task root, as an unprivileged
/// user, in Lambda's environment), fed through a local Runtime API, against moto_server.
/// </summary>
[Collection(LambdaCollection.Name)]
public sealed class SubscriptionEventsOnLambdaTests(LambdaFixture lambda)
{
    private static readonly TimeSpan FunctionTimeout = TimeSpan.FromSeconds(60);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private OfflineEnvironment Environment => lambda.Environment;

    private async Task<(LambdaRuntimeApi Api, LambdaProcess Process)> StartAsync(Action<Dictionary<string, string>>? adjust = null)
    {
        var api = await LambdaRuntimeApi.StartAsync(Cancel);
        var environment = lambda.FunctionEnvironment(lambda.SubscriptionEvents, "SubscriptionEvents", api);
        adjust?.Invoke(environment);
        return (api, OfflineLambda.StartExecutableAssembly(lambda.SubscriptionEvents, "SubscriptionEvents", environment));
    }

    private static async Task<LambdaInvocationResult> InvokeAsync(LambdaRuntimeApi api, LambdaProcess process, string payload, TimeSpan? timeout = null, string? traceId = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        deadline.CancelAfter(TimeSpan.FromSeconds(90));
        var invocation = api.InvokeAsync(payload, timeout ?? FunctionTimeout, traceId, deadline.Token);
        var exited = process.WaitForExitAsync(deadline.Token);
        if (await Task.WhenAny(invocation, exited) == exited)
        {
            Assert.Fail($"The function exited ({await exited}) instead of answering:\n{process.Output}");
        }

        return await invocation;
    }

    /// <summary>
    /// The buyer's one key, once the key minting function (draining the queue the events ask it on) has made it and,
    /// when <paramref name="granted"/>, the buyer's access reached it; with <paramref name="recordedFor"/>, once that
    /// subscriber's record holds it too (only then can the buyer see its value and be served with it).
    /// </summary>
    private async Task<(string Id, bool Enabled, bool InPlan)> KeyAsync(string name, bool granted = false, string? recordedFor = null)
    {
        using var dynamoDb = Environment.DynamoDb();
        var ledger = new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName);
        var until = DateTimeOffset.UtcNow.AddSeconds(60);
        while (true)
        {
            var keys = (await Environment.ApiKeysAsync(Cancel)).Where(k => k.Name == name).ToList();
            Assert.True(keys.Count <= 1, $"{keys.Count} keys named {name}");
            if (keys.Count == 1)
            {
                var inPlan = (await Environment.UsagePlanKeyIdsAsync(Environment.MarketplaceUsagePlanId, Cancel)).Contains(keys[0].Id);
                if ((!granted || (keys[0].Enabled && inPlan))
                    && (recordedFor is null || (await ledger.GetAsync(recordedFor, Cancel))?.ApiKeyId == keys[0].Id))
                {
                    return (keys[0].Id, keys[0].Enabled, inPlan);
                }
            }

            Assert.True(DateTimeOffset.UtcNow < until, $"no{(granted ? " granted" : string.Empty)} key named {name} after 60 s");
            await Task.Delay(100, Cancel);
        }
    }

    [Fact]
    public async Task EveryLineTheFlowLogsCarriesTheInvocationsRequestAndTraceIds()
    {
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        const string first = "Root=1-6759e988-bd862e3fe1be46a994272793;Sampled=1";
        const string second = "Root=1-6759e989-0123456789abcdef01234567;Sampled=0";

        var one = await InvokeAsync(api, process, SnsEvent(SnsRecord("subscribe-success", NewCustomerIdentifier(), DateTimeOffset.UtcNow)), traceId: first);
        var two = await InvokeAsync(api, process, SnsEvent(SnsRecord("subscribe-success", NewCustomerIdentifier(), DateTimeOffset.UtcNow)), traceId: second);

        Assert.Null(one.Error);
        Assert.Null(two.Error);
        string[] texts = ["Marketplace notification", "Delivery of 1 records", "apigateway "];
        var output = await process.OutputWhenAsync(o => texts.All(t => LoggedScopes.Of(o, t).Count >= 2), TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        foreach (var text in texts)
        {
            var lines = LoggedScopes.Of(output, text);
            Assert.True(lines.Count >= 2, $"fewer than two lines with '{text}':\n{output}");
            Assert.All(lines, scope => Assert.True(
                (scope.GetValueOrDefault("AwsRequestId"), scope.GetValueOrDefault("XRayTraceId")) is var ids
                && (ids == (one.RequestId, first) || ids == (two.RequestId, second)),
                $"'{text}' logged with scope {string.Join(", ", scope)}"));
            Assert.Contains(lines, scope => scope.GetValueOrDefault("AwsRequestId") == two.RequestId);
        }
    }

    [Fact]
    public async Task AnSnsSubscribeSuccessGrantsTheBuyersKeyInTheMarketplacePlan()
    {
        var customer = NewCustomerIdentifier();
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        await using var minting = await ReporterProgram.StartKeyMintingAsync(lambda, Cancel);
        await using var queue = minting.Drain(lambda);

        var result = await InvokeAsync(api, process, SnsEvent(SnsRecord("subscribe-success", customer, DateTimeOffset.UtcNow)));

        Assert.Null(result.Error);
        using var summary = JsonDocument.Parse(result.Response!);
        Assert.Equal(1, summary.RootElement.GetProperty("applied").GetInt32());
        var key = await KeyAsync("marketplace-cid-" + customer, granted: true);
        Assert.True(key.Enabled);
        Assert.True(key.InPlan);
    }

    [Fact]
    public async Task EventBridgeLicenseEventsGrantThenRevokeANewStyleBuyer()
    {
        var account = "4" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var license = "l-" + Guid.NewGuid().ToString("N");
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        await using var minting = await ReporterProgram.StartKeyMintingAsync(lambda, Cancel);
        await using var queue = minting.Drain(lambda);
        var keyName = $"marketplace-acct-{account}-{license}";

        // The deprovision follows a grant the buyer could have seen: their key recorded (the consumer imports it in the
        // plan first and records it after; a key never recorded was never shown, and is discarded).
        var granted = await InvokeAsync(api, process, LicenseEvent("License Updated - Manufacturer", account, license, start));
        var afterGrant = await KeyAsync(keyName, granted: true, recordedFor: MarketplaceCustomer.FromLicense(account, license).SubscriberId);
        var revoked = await InvokeAsync(api, process, LicenseEvent("License Deprovisioned - Manufacturer", account, license, start.AddMinutes(1)));
        var afterRevoke = await KeyAsync(keyName);

        Assert.Null(granted.Error);
        Assert.Null(revoked.Error);
        Assert.True(afterGrant.Enabled);
        Assert.True(afterGrant.InPlan);
        Assert.Equal(afterGrant.Id, afterRevoke.Id);
        Assert.False(afterRevoke.Enabled);

        // It settles in the plan until the usage reporter has metered what it served.
        Assert.True(afterRevoke.InPlan);
    }

    [Fact]
    public async Task ADeprovisionedLicenseHasTheUsageItsKeyMadeMeteredToMarketplace()
    {
        var account = "6" + Random.Shared.NextInt64(10_000_000_000, 99_999_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var license = $"arn:aws:license-manager::{MarketplaceEmulator.SellerAccountId}:license:l-{Guid.NewGuid():N}";
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        await using var minting = await ReporterProgram.StartKeyMintingAsync(lambda, Cancel);
        await using var queue = minting.Drain(lambda);
        var updated = await Environment.Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Updated - Manufacturer", account, license, Time: DateTimeOffset.UtcNow.AddMinutes(-10)), Cancel);
        var granted = await InvokeAsync(api, process, updated.Payload);
        var buyer = MarketplaceCustomer.FromLicense(account, license);
        var key = await KeyAsync(buyer.ApiKeyName, granted: true, recordedFor: buyer.SubscriberId);
        Environment.Usage.Count(Environment.MarketplaceUsagePlanId, key.Id, DateOnly.FromDateTime(DateTime.UtcNow), 6);

        var deprovisioned = await Environment.Marketplace.DeliverEventBridgeAsync(
            new AgreementEvent("License Deprovisioned - Manufacturer", account, license, Time: DateTimeOffset.UtcNow.AddMinutes(-1)), Cancel);
        var revoked = await InvokeAsync(api, process, deprovisioned.Payload);

        Assert.True(granted.Error is null, granted.Error?.ErrorMessage + process.Output);
        Assert.True(revoked.Error is null, revoked.Error?.ErrorMessage + process.Output);
        var record = Assert.Single(Environment.Marketplace.Metered, m => m.CustomerAwsAccountId == account && m.LicenseArn == license);
        Assert.Equal(6, record.Quantity);
        Assert.Equal(OfflineEnvironment.MarketplaceProductCode, record.ProductCode);
        var settling = await KeyAsync(buyer.ApiKeyName);
        Assert.False(settling.Enabled);
        Assert.True(settling.InPlan);
    }

    [Fact]
    public async Task ADeliveryWithAMalformedRecordIsReportedAsAnInvocationErrorWithTheDocumentedBody()
    {
        var applied = NewCustomerIdentifier();
        var malformedId = Guid.NewGuid().ToString();
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        await using var minting = await ReporterProgram.StartKeyMintingAsync(lambda, Cancel);
        await using var queue = minting.Drain(lambda);

        var result = await InvokeAsync(api, process, SnsEvent(
            SnsRecord("subscribe-success", applied, DateTimeOffset.UtcNow),
            SnsRecord("subscribe-succeeded-maybe", NewCustomerIdentifier(), DateTimeOffset.UtcNow, malformedId)));

        Assert.Null(result.Response);
        var error = Assert.IsType<LambdaErrorReport>(result.Error);
        Assert.Equal("SubscriptionDeliveryFailedException", error.ErrorType);
        Assert.Equal(error.ErrorType, error.ErrorTypeHeader);
        Assert.Contains("1 of 2", error.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains(malformedId, error.ErrorMessage, StringComparison.Ordinal);
        Assert.NotEmpty(error.StackTrace);
        Assert.True((await KeyAsync("marketplace-cid-" + applied, granted: true)).InPlan);
    }

    [Fact]
    public async Task OneWarmProcessServesInvocationAfterInvocation()
    {
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        var pid = process.Id;
        var results = new List<(LambdaInvocationResult Result, bool Alive)>();

        for (var i = 0; i < 3; i++)
        {
            var result = await InvokeAsync(api, process, SnsEvent(SnsRecord("subscribe-success", NewCustomerIdentifier(), DateTimeOffset.UtcNow)));
            results.Add((result, !process.HasExited));
        }

        // The one process this test started answered all three and is still waiting for the next.
        Assert.All(results, r => Assert.Null(r.Result.Error));
        Assert.All(results, r => Assert.True(r.Alive));
        Assert.Equal(3, results.Select(r => r.Result.RequestId).Distinct().Count());
        await PollAsync(() => api.Polls == 4, "the process to ask for a fourth invocation");
        Assert.Equal(pid, process.Id);
        Assert.False(process.HasExited);
    }

    [Fact]
    public async Task AMissingSettingIsReportedToInitErrorNamingItAndTheProcessExitsNonZero()
    {
        var (api, process) = await StartAsync(environment => environment.Remove("Monetization__MarketplaceUsagePlanId"));
        await using var _ = api;
        await using var __ = process;

        var error = await api.InitError.WaitAsync(TimeSpan.FromSeconds(60), Cancel);
        var exitCode = await process.WaitForExitAsync(Cancel).WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        Assert.Contains("Monetization:MarketplaceUsagePlanId", error.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal("Runtime.ConfigInvalid", error.ErrorTypeHeader);
        Assert.NotEqual(0, exitCode);
        Assert.Equal(0, api.Polls);
    }

    [Fact]
    public async Task TheDeadlineCancelsAnInvocationThatWouldOverrunAndTheProcessServesTheNextOne()
    {
        var (api, process) = await StartAsync();
        await using var _ = api;
        await using var __ = process;
        await api.FirstPoll.WaitAsync(TimeSpan.FromSeconds(60), Cancel);
        Environment.ApiGateway.Faults.Add(new FaultRule { Kind = FaultKind.Latency, DelayMs = 30_000, Count = 1 });
        try
        {
            var started = DateTimeOffset.UtcNow;
            var overrun = await InvokeAsync(api, process, SnsEvent(SnsRecord("subscribe-success", NewCustomerIdentifier(), DateTimeOffset.UtcNow)), TimeSpan.FromSeconds(3));
            var took = DateTimeOffset.UtcNow - started;

            var error = Assert.IsType<LambdaErrorReport>(overrun.Error);
            Assert.True(took < TimeSpan.FromSeconds(10), $"the invocation took {took}");
            Assert.Contains("DeadlineExceeded", error.ErrorType + error.ErrorMessage, StringComparison.Ordinal);
        }
        finally
        {
            Environment.ApiGateway.Faults.Clear();
        }

        var next = await InvokeAsync(api, process, SnsEvent(SnsRecord("subscribe-success", NewCustomerIdentifier(), DateTimeOffset.UtcNow)));
        Assert.Null(next.Error);
    }

    [Fact]
    public async Task TheFunctionCannotWriteToItsTaskRootButCanWriteToTmp()
    {
        var api = await LambdaRuntimeApi.StartAsync(Cancel);
        await using var _ = api;
        var environment = lambda.FunctionEnvironment(lambda.SubscriptionEvents, "SubscriptionEvents", api);
        var probe = LambdaProcess.Start(
            lambda.SubscriptionEvents.TaskRoot,
            ["/bin/sh", "-c", "id -u; if touch \"$LAMBDA_TASK_ROOT/probe\" 2>/dev/null; then echo task-root-writable; fi; touch /tmp/monetization-probe-$$ && echo tmp-writable && rm /tmp/monetization-probe-$$"],
            environment);
        await using var __ = probe;

        var exitCode = await probe.WaitForExitAsync(Cancel);

        Assert.Equal(0, exitCode);
        Assert.Equal(["65534", "tmp-writable"], probe.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static async Task PollAsync(Func<bool> condition, string what)
    {
        var until = DateTimeOffset.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTimeOffset.UtcNow < until, $"timed out waiting for {what}");
            await Task.Delay(20, Cancel);
        }
    }
}
