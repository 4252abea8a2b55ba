using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Monetization.Emulators.Lambda;

/// <summary>
/// What Lambda's SQS event source mapping does for a function, on moto's SQS: polls the queue, gathers up to
/// <see cref="BatchSize"/> messages for at most <see cref="BatchWindow"/>, invokes the function with the event Lambda
/// sends (<c>{"Records":[{"messageId","receiptHandle","body","attributes":{"ApproximateReceiveCount",...},
/// "messageAttributes","md5OfBody","eventSource":"aws:sqs","eventSourceARN","awsRegion"}]}</c>), and deletes the
/// messages the answer's <c>batchItemFailures</c> does not name (all of them stay when the invocation fails), so those
/// come back after the queue's visibility timeout. One batch at a time, like a mapping with one concurrent invocation.
/// </summary>
public sealed class SqsEventSource : IAsyncDisposable
{
    private readonly HttpClient _sqs;
    private readonly Uri _queueUrl;
    private readonly string _region;
    private readonly Func<string, CancellationToken, Task<string>> _invoke;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _invocations;
    private int _inFlight;
    private int _disposed;

    /// <param name="sqs">A client signed for moto's SQS; the source owns it from here on.</param>
    /// <param name="invoke">The function: the event's JSON in, its answer's JSON out.</param>
    public SqsEventSource(HttpClient sqs, Uri queueUrl, string region, Func<string, CancellationToken, Task<string>> invoke, int batchSize = 100, TimeSpan? batchWindow = null)
    {
        ArgumentNullException.ThrowIfNull(sqs);
        ArgumentNullException.ThrowIfNull(queueUrl);
        ArgumentNullException.ThrowIfNull(invoke);
        _sqs = sqs;
        _queueUrl = queueUrl;
        _region = region;
        _invoke = invoke;
        BatchSize = batchSize;
        BatchWindow = batchWindow ?? TimeSpan.FromMilliseconds(200);
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public int BatchSize { get; }

    /// <summary>How long an empty queue is left alone before it is polled again.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    public TimeSpan BatchWindow { get; }

    /// <summary>Invocations made so far.</summary>
    public int Invocations => Volatile.Read(ref _invocations);

    /// <summary>The last invocation's fault, if it threw (the messages then stay in the queue).</summary>
    public Exception? LastFault { get; private set; }

    /// <summary>Waits until the queue holds no message, visible or in flight, and no batch is being handled.</summary>
    public async Task WhenDrainedAsync(TimeSpan within, CancellationToken cancellationToken = default)
    {
        var deadline = DateTimeOffset.UtcNow + within;
        while (DateTimeOffset.UtcNow < deadline)
        {
            var attributes = await CallAsync(
                "GetQueueAttributes",
                new JsonObject { ["QueueUrl"] = _queueUrl.ToString(), ["AttributeNames"] = new JsonArray("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible") },
                cancellationToken).ConfigureAwait(false);
            var counts = attributes["Attributes"]!.AsObject();
            if (Volatile.Read(ref _inFlight) == 0
                && counts["ApproximateNumberOfMessages"]!.GetValue<string>() == "0"
                && counts["ApproximateNumberOfMessagesNotVisible"]!.GetValue<string>() == "0")
            {
                return;
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        throw new TimeoutException($"The queue {_queueUrl} was not drained within {within}.");
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _sqs.Dispose();
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                var batch = await GatherAsync(stop).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    continue;
                }

                Interlocked.Increment(ref _inFlight);
                try
                {
                    await InvokeAsync(batch, stop).ConfigureAwait(false);
                }
                finally
                {
                    Interlocked.Decrement(ref _inFlight);
                }
            }
            catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException && !stop.IsCancellationRequested)
            {
                LastFault = e;
                await Task.Delay(100, stop).ConfigureAwait(false);
            }
        }
    }

    private async Task<List<JsonObject>> GatherAsync(CancellationToken stop)
    {
        var batch = new List<JsonObject>();
        var windowEnds = DateTimeOffset.UtcNow + BatchWindow;
        do
        {
            var received = await CallAsync(
                "ReceiveMessage",
                new JsonObject
                {
                    ["QueueUrl"] = _queueUrl.ToString(),
                    ["MaxNumberOfMessages"] = Math.Min(10, BatchSize - batch.Count),
                    // No long polling: moto serves one request at a time here, and a waiting receive would hold up the rest.
                    ["WaitTimeSeconds"] = 0,
                    ["MessageSystemAttributeNames"] = new JsonArray("All"),
                },
                stop).ConfigureAwait(false);
            var messages = received["Messages"]?.AsArray() ?? [];
            if (messages.Count == 0 && batch.Count > 0)
            {
                // Nothing more waiting: Lambda too invokes before its window ends once the queue is empty for a moment.
                await Task.Delay(20, stop).ConfigureAwait(false);
            }

            batch.AddRange(messages.Select(m => m!.AsObject()));
            if (batch.Count == 0)
            {
                await Task.Delay(PollInterval, stop).ConfigureAwait(false);
                return batch;
            }
        }
        while (batch.Count < BatchSize && DateTimeOffset.UtcNow < windowEnds);

        return batch;
    }

    private async Task InvokeAsync(List<JsonObject> batch, CancellationToken stop)
    {
        var arn = $"arn:aws:sqs:{_region}:{_queueUrl.Segments[1].TrimEnd('/')}:{_queueUrl.Segments[^1]}";
        var records = new JsonArray([.. batch.Select(m => (JsonNode)new JsonObject
        {
            ["messageId"] = m["MessageId"]!.GetValue<string>(),
            ["receiptHandle"] = m["ReceiptHandle"]!.GetValue<string>(),
            ["body"] = m["Body"]!.GetValue<string>(),
            ["attributes"] = m["Attributes"]?.DeepClone() ?? new JsonObject(),
            ["messageAttributes"] = new JsonObject(),
            ["md5OfBody"] = m["MD5OfBody"]?.GetValue<string>(),
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = arn,
            ["awsRegion"] = _region,
        })]);
        Interlocked.Increment(ref _invocations);
        HashSet<string> failed;
        try
        {
            var answer = await _invoke(new JsonObject { ["Records"] = records }.ToJsonString(), stop).ConfigureAwait(false);
            failed = [.. (JsonNode.Parse(answer)?["batchItemFailures"]?.AsArray() ?? []).Select(f => f!["itemIdentifier"]!.GetValue<string>())];
        }
        catch (Exception e) when (e is not OperationCanceledException || !stop.IsCancellationRequested)
        {
            // A failed invocation leaves every message to come back after the visibility timeout.
            LastFault = e;
            return;
        }

        var done = batch.Where(m => !failed.Contains(m["MessageId"]!.GetValue<string>())).ToList();
        foreach (var chunk in done.Chunk(10))
        {
            await CallAsync(
                "DeleteMessageBatch",
                new JsonObject
                {
                    ["QueueUrl"] = _queueUrl.ToString(),
                    ["Entries"] = new JsonArray([.. chunk.Select((m, i) => (JsonNode)new JsonObject
                    {
                        ["Id"] = i.ToString(CultureInfo.InvariantCulture),
                        ["ReceiptHandle"] = m["ReceiptHandle"]!.GetValue<string>(),
                    })]),
                },
                stop).ConfigureAwait(false);
        }
    }

    private async Task<JsonObject> CallAsync(string operation, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/", UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/x-amz-json-1.0"),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.0");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", $"AmazonSQS.{operation}");
        using var response = await _sqs.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"SQS {operation} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text.Length == 0 ? "{}" : text)!.AsObject();
    }
}
