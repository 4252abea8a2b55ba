using System.Collections.Concurrent;
using Monetization.Core.ApiKeys;

namespace Monetization.Tests.Accounts;

/// <summary>A key minting queue that keeps what it is asked, for a test to hand to <see cref="MintKeys"/> itself.</summary>
public sealed class CollectingKeyMintQueue : IKeyMintQueue
{
    private readonly ConcurrentQueue<KeyMintRequest> _requests = new();

    public Task RequestAsync(KeyMintRequest request, CancellationToken cancellationToken)
    {
        _requests.Enqueue(request);
        return Task.CompletedTask;
    }

    /// <summary>Everything asked since the last take, as the queue would deliver it once each.</summary>
    public IReadOnlyList<QueuedKeyMint> Take()
    {
        var taken = new List<QueuedKeyMint>();
        while (_requests.TryDequeue(out var request))
        {
            taken.Add(new QueuedKeyMint($"message-{Guid.NewGuid():N}", request, Deliveries: 1));
        }

        return taken;
    }
}
