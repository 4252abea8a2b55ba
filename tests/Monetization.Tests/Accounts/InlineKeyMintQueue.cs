using System.Collections.Concurrent;
using Monetization.Core.ApiKeys;

namespace Monetization.Tests.Accounts;

/// <summary>
/// A key minting queue whose consumer runs at once, inside the request: a test's flows then see the key as soon as
/// it is asked for, made by the real consumer. A delivery that fails fails the request (the sender sends again), and
/// the next delivery for that subscriber counts as the redelivery SQS would make of the failed message.
/// </summary>
public sealed class InlineKeyMintQueue : IKeyMintQueue
{
    private readonly ConcurrentDictionary<string, int> _failures = new(StringComparer.Ordinal);

    private readonly ConcurrentQueue<KeyMintRequest> _held = new();

    /// <summary>The consumer, set once the flows it serves are built.</summary>
    public MintKeys? Consumer { get; set; }

    /// <summary>While set, requests wait for <see cref="ReleaseAsync"/>, as they wait in SQS for the consumer.</summary>
    public bool Hold { get; set; }

    /// <summary>Delivers the requests held so far, one by one.</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        var hold = Hold;
        Hold = false;
        try
        {
            while (_held.TryDequeue(out var request))
            {
                await RequestAsync(request, cancellationToken);
            }
        }
        finally
        {
            Hold = hold;
        }
    }

    public async Task RequestAsync(KeyMintRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (Hold)
        {
            _held.Enqueue(request);
            return;
        }

        var consumer = Consumer ?? throw new InvalidOperationException("No consumer is set on the queue.");
        var deliveries = 1 + _failures.GetValueOrDefault(request.SubscriberId);
        MintOutcome outcome;
        try
        {
            outcome = await consumer.MintAsync([new QueuedKeyMint($"message-{Guid.NewGuid():N}", request, deliveries)], cancellationToken);
        }
        catch
        {
            _failures.AddOrUpdate(request.SubscriberId, 1, (_, n) => n + 1);
            throw;
        }

        if (outcome.Failed.Count > 0)
        {
            _failures.AddOrUpdate(request.SubscriberId, 1, (_, n) => n + 1);
            throw new Monetization.Core.DependencyUnavailableException("key minting queue", "mint a first key", new InvalidOperationException("the consumer failed the request"));
        }
    }
}
