namespace Monetization.Core.ApiKeys;

/// <summary>A subscriber whose access has started and who has no key yet. It carries no key value and no personal data.</summary>
public sealed record KeyMintRequest(string SubscriberId, DateTimeOffset RequestedAt);

/// <summary>
/// Where first keys are asked for: one account-wide consumer (<see cref="MintKeys"/>) drains it, so key creation stays
/// inside API Gateway's fixed control-plane quotas however many people start at once, and never runs on a person's request.
/// </summary>
public interface IKeyMintQueue
{
    Task RequestAsync(KeyMintRequest request, CancellationToken cancellationToken);
}

/// <summary>A request as the queue delivered it.</summary>
/// <param name="MessageId">The queue's id of the message, to report it failed.</param>
/// <param name="Deliveries">How many times the queue has delivered it (more than one: an earlier attempt may have made the key).</param>
public sealed record QueuedKeyMint(string MessageId, KeyMintRequest Request, int Deliveries);
