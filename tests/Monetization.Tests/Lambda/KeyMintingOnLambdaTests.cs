using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Monetization.Aws.Ledger;
using Monetization.Aws.Queues;
using Monetization.Core.ApiKeys;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Emulators.Faults;
using Monetization.Emulators.Lambda;
using Monetization.Emulators.Recording;
using Stripe;

namespace Monetization.Tests.Lambda;

/// <summary>
/// The published KeyMintingFunction artifact (the usage reporter's program) started as the managed dotnet10 runtime
/// starts <c>Handler: UsageReporter</c>, invoked with the key minting queue's SQS events as Lambda sends them, against
/// moto, the API Gateway stand-in (ImportApiKeys) and the Stripe emulator. Its AWS calls are recorded for the IAM check.
/// </summary>
[Collection(LambdaCollection.Name)]
public sealed class KeyMintingOnLambdaTests(LambdaFixture lambda)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private OfflineEnvironment Environment => lambda.Environment;

    [Fact]
    public async Task ABatchOfRequestsIsOneImportThatGivesEachWaitingSubscriberOneWorkingKeyAndDuplicatesNothing()
    {
        var (first, firstCustomer) = await AwaitingSubscriberAsync();
        var (second, _) = await AwaitingSubscriberAsync();
        var importsBefore = Environment.KeyImport.Imports;
        await using var function = await StartAsync();

        var answer = await InvokeAsync(function, Event(
            Message(first, deliveries: 1),
            Message(first, deliveries: 1),
            Message(second, deliveries: 1),
            ("not-a-request", "{\"hello\":1}", 1)));

        Assert.True(answer.Error is null, answer.Error?.ErrorMessage + function.Process.Output);
        using (var failures = JsonDocument.Parse(answer.Response!))
        {
            Assert.Empty(failures.RootElement.GetProperty("batchItemFailures").EnumerateArray());
        }

        Assert.Equal(importsBefore + 1, Environment.KeyImport.Imports);
        var keys = await Environment.ApiKeysAsync(Cancel);
        var plan = await Environment.UsagePlanKeyIdsAsync(Environment.StripeUsagePlanId, Cancel);
        foreach (var subscriber in new[] { first, second })
        {
            var record = await RecordAsync(subscriber.Id);
            var key = Assert.Single(keys, k => k.Name == $"stripe:{subscriber.Id["stripe#".Length..]}");
            Assert.Equal(key.Id, record.ApiKeyId);
            Assert.True(key.Enabled);
            Assert.Contains(key.Id, plan);
            Assert.Equal(40, key.Value.Length);
        }

        Assert.Equal((await RecordAsync(first.Id)).ApiKeyId, Environment.Stripe.Customers.Single(c => c.Id == firstCustomer).Metadata["awsAPIKeyId"]);

        // Delivered again (the answer was lost): the keys are there, nothing is imported.
        var again = await InvokeAsync(function, Event(Message(first, deliveries: 2), Message(second, deliveries: 2)));
        Assert.True(again.Error is null, again.Error?.ErrorMessage);
        Assert.Equal(importsBefore + 1, Environment.KeyImport.Imports);
        Assert.Equal(keys.Count, (await Environment.ApiKeysAsync(Cancel)).Count);
    }

    [Fact]
    public async Task ARedeliveredRequestAdoptsTheKeyAnEarlierAttemptImportedWithoutRecordingIt()
    {
        var (subscriber, _) = await AwaitingSubscriberAsync();
        await using var function = await StartAsync();

        // An earlier delivery imported the key and crashed before recording it: the key is there, the ledger knows nothing.
        var earlier = await ImportedUnrecordedAsync($"stripe:{subscriber.Id["stripe#".Length..]}");
        var importsBefore = Environment.KeyImport.Imports;

        var redelivered = await InvokeAsync(function, Event(Message(subscriber, deliveries: 2)));

        Assert.True(redelivered.Error is null, redelivered.Error?.ErrorMessage + function.Process.Output);
        Assert.Equal(importsBefore, Environment.KeyImport.Imports);
        var key = Assert.Single(await Environment.ApiKeysAsync(Cancel), k => k.Name == $"stripe:{subscriber.Id["stripe#".Length..]}");
        Assert.Equal(earlier, key.Id);
        Assert.Equal(key.Id, (await RecordAsync(subscriber.Id)).ApiKeyId);
        Assert.Contains(key.Id, await Environment.UsagePlanKeyIdsAsync(Environment.StripeUsagePlanId, Cancel));
    }

    [Fact]
    public async Task AKeyWhoseSubscriberLostAccessWhileItWasImportedIsDeletedNotRecorded()
    {
        var (subscriber, _) = await AwaitingSubscriberAsync();
        await using var function = await StartAsync();
        var slowImport = new FaultRule { Method = "POST", PathPrefix = "/apikeys", Kind = FaultKind.Latency, DelayMs = 1500, Count = 1 };
        Environment.ApiGateway.Faults.Add(slowImport);
        var importsBefore = Environment.KeyImport.Imports;

        // Access ends while the import is on its way: the consumer had found the subscriber waiting for a key.
        var invocation = InvokeAsync(function, Event(Message(subscriber, deliveries: 1)));
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(30);
        while (Environment.ApiGateway.Faults.Hits(slowImport) == 0)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "the import never started");
            await Task.Delay(20, Cancel);
        }

        using (var dynamoDb = Environment.DynamoDb())
        {
            await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).UpdateAsync(
                subscriber.Id, r => r! with { Subscribed = false, Status = SubscriberStatus.Cancelled }, known: null, Cancel);
        }

        var answer = await invocation;
        Environment.ApiGateway.Faults.Clear();

        Assert.True(answer.Error is null, answer.Error?.ErrorMessage + function.Process.Output);
        Assert.Equal(importsBefore + 1, Environment.KeyImport.Imports);
        Assert.Null((await RecordAsync(subscriber.Id)).ApiKeyId);
        Assert.DoesNotContain(await Environment.ApiKeysAsync(Cancel), k => k.Name == $"stripe:{subscriber.Id["stripe#".Length..]}");
    }

    private static (string MessageId, string Body, int Deliveries) Message(Subscriber subscriber, int deliveries) =>
        ($"{Guid.NewGuid()}", KeyMintMessage.Write(new KeyMintRequest(subscriber.Id, DateTimeOffset.UtcNow)), deliveries);

    /// <summary>The event Lambda's SQS mapping sends (AWS Lambda developer guide, "Using Lambda with Amazon SQS").</summary>
    private string Event(params (string MessageId, string Body, int Deliveries)[] messages) => new JsonObject
    {
        ["Records"] = new JsonArray([.. messages.Select(m => (JsonNode)new JsonObject
        {
            ["messageId"] = m.MessageId,
            ["receiptHandle"] = "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + Guid.NewGuid().ToString("N"),
            ["body"] = m.Body,
            ["attributes"] = new JsonObject
            {
                ["ApproximateReceiveCount"] = m.Deliveries.ToString(CultureInfo.InvariantCulture),
                ["SentTimestamp"] = "1545082649183",
                ["SenderId"] = "AIDAIENQZJOLO23YVJ4VO",
                ["ApproximateFirstReceiveTimestamp"] = "1545082649185",
            },
            ["messageAttributes"] = new JsonObject(),
            ["md5OfBody"] = "e4e68fb7bd0e697a0ae8f1bb342846b3",
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = $"arn:aws:sqs:{OfflineEnvironment.Region}:123456789012:monetization-key-mints",
            ["awsRegion"] = OfflineEnvironment.Region,
        })]),
    }.ToJsonString();

    private async Task<(Subscriber Record, string CustomerId)> AwaitingSubscriberAsync()
    {
        using var http = new HttpClient();
        var customer = await Environment.StripeClient(http).V1.Customers.CreateAsync(new CustomerCreateOptions { Name = "Key minting on Lambda" }, new RequestOptions { IdempotencyKey = $"mint-lambda-{Guid.NewGuid():N}" }, Cancel);
        var now = DateTimeOffset.UtcNow;
        var record = new Subscriber
        {
            Id = $"stripe#{Guid.NewGuid():N}",
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Active,
            StripeCustomerId = customer.Id,
            StripeSubscriptionId = "sub_" + Guid.NewGuid().ToString("N")[..14],
            UsagePlanId = Environment.StripeUsagePlanId,
            Registered = true,
            Subscribed = true,
            KeyRequestedAt = now,
            CreatedAt = now,
            UpdatedAt = now,
        };
        using var dynamoDb = Environment.DynamoDb();
        Assert.True(await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).TryCreateAsync(record, Cancel));
        return (record, customer.Id);
    }

    /// <summary>A key as the import leaves it (enabled, in the Stripe plan), made behind the function's back.</summary>
    private async Task<string> ImportedUnrecordedAsync(string name)
    {
        using var http = Environment.ApiGatewayHttp();
        using var created = await http.PostAsync(
            new Uri(http.BaseAddress!, "/apikeys"),
            new StringContent($$"""{"name":"{{name}}","enabled":true,"value":"{{ApiKeyAccess.NewValue().Reveal()}}"}""", System.Text.Encoding.UTF8, "application/json"),
            Cancel);
        created.EnsureSuccessStatusCode();
        using var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync(Cancel));
        var keyId = key.RootElement.GetProperty("id").GetString()!;
        using var added = await http.PostAsync(
            new Uri(http.BaseAddress!, $"/usageplans/{Environment.StripeUsagePlanId}/keys"),
            new StringContent($$"""{"keyId":"{{keyId}}","keyType":"API_KEY"}""", System.Text.Encoding.UTF8, "application/json"),
            Cancel);
        added.EnsureSuccessStatusCode();
        return keyId;
    }

    private async Task<Subscriber> RecordAsync(string id)
    {
        using var dynamoDb = Environment.DynamoDb();
        return (await new DynamoDbSubscriberLedger(dynamoDb, OfflineEnvironment.LedgerTableName).GetAsync(id, Cancel))!;
    }

    private Task<ReporterProgram> StartAsync() => ReporterProgram.StartKeyMintingAsync(lambda, Cancel);

    private static Task<LambdaInvocationResult> InvokeAsync(ReporterProgram function, string payload) => function.InvokeAsync(payload, Cancel);
}
