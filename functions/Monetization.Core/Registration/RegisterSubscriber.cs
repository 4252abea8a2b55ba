using System.Text;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Idempotency;
using Monetization.Core.Ledger;

namespace Monetization.Core.Registration;

public sealed record RegistrationRequest(string? Email, string? FirstName, string? LastName);

public abstract record RegistrationOutcome
{
    private RegistrationOutcome()
    {
    }

    /// <summary>The only outcome that carries the key value; it is never stored, so it is shown exactly once.</summary>
    public sealed record Registered(string SubscriberId, string ApiKeyId, Secret ApiKeyValue) : RegistrationOutcome;

    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : RegistrationOutcome;

    /// <summary>The e-mail already has a subscription. The existing key is never handed out again.</summary>
    public sealed record AlreadyRegistered : RegistrationOutcome;

    /// <summary>Another registration of the same e-mail is running right now.</summary>
    public sealed record InProgress : RegistrationOutcome;
}

/// <summary>A registration could not finish because a dependency failed; access was withdrawn and a retry resumes.</summary>
public sealed class RegistrationFailedException(string step, Exception innerException)
    : Exception($"Registration failed at step '{step}'.", innerException)
{
    public string Step { get; } = step;
}

public sealed record RegistrationOptions
{
    public required string StripeUsagePlanId { get; init; }
}

/// <summary>
/// Self-serve signup for the Stripe channel: one API key, one Stripe customer, one metered subscription per e-mail.
/// <para>
/// Only two dependent hops reach the outside world: (1) create the disabled API key and the Stripe customer side by
/// side, (2) enable the key, add it to the usage plan, subscribe the customer and link the key id on the customer side
/// by side. If anything fails the key is disabled and taken out of the plan again, progress is recorded, and the
/// claim is released, so a retry resumes with the same key and — through idempotency keys derived from the
/// subscriber id — the same Stripe objects.
/// </para>
/// </summary>
public sealed partial class RegisterSubscriber(
    IdempotentExecutor executor,
    ISubscriberLedger ledger,
    IApiKeys apiKeys,
    IBilling billing,
    RegistrationOptions options,
    TimeProvider clock,
    ILogger<RegisterSubscriber> logger)
{
    private const string AlreadyRegisteredResult = "already-registered";

    public async Task<RegistrationOutcome> RegisterAsync(RegistrationRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        Email.TryParse(request.Email, out var email, out var emailError);
        PersonName.TryParse(request.FirstName, "first name", out var firstName, out var firstNameError);
        PersonName.TryParse(request.LastName, "last name", out var lastName, out var lastNameError);
        AddError(errors, "email", emailError);
        AddError(errors, "firstname", firstNameError);
        AddError(errors, "lastname", lastNameError);
        if (email is null || firstName is null || lastName is null)
        {
            return new RegistrationOutcome.Invalid(errors);
        }

        var subscriberId = SubscriberIdFor(email);
        RegistrationOutcome.Registered? registered = null;
        var outcome = await executor.ExecuteAsync(
            $"register#{subscriberId}",
            Encoding.UTF8.GetBytes(subscriberId),
            async ct =>
            {
                registered = await RegisterClaimedAsync(subscriberId, email, firstName, lastName, ct);
                return registered is null ? AlreadyRegisteredResult : $"registered:{registered.ApiKeyId}";
            },
            cancellationToken);

        return outcome switch
        {
            IdempotencyOutcome.Executed when registered is not null => registered,
            IdempotencyOutcome.InProgress => new RegistrationOutcome.InProgress(),
            _ => new RegistrationOutcome.AlreadyRegistered(),
        };
    }

    public static string SubscriberIdFor(Email email) => $"stripe#{email.Normalized}";

    public static string ApiKeyNameFor(Email email) => $"stripe:{email.Normalized}";

    /// <returns><c>null</c> when the e-mail is already registered.</returns>
    private async Task<RegistrationOutcome.Registered?> RegisterClaimedAsync(
        string subscriberId, Email email, PersonName firstName, PersonName lastName, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var existing = await ledger.GetAsync(subscriberId, cancellationToken);
        if (existing is not null && existing.Status != SubscriberStatus.Pending)
        {
            return null;
        }

        // A pending record is an earlier attempt that failed part-way: resume it with the names it started with, so
        // the Stripe customer's parameters (and so its idempotency key's stored result) stay the same.
        var subscriber = existing ?? new Subscriber
        {
            Id = subscriberId,
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Pending,
            Email = email.Normalized,
            FirstName = firstName.Value,
            LastName = lastName.Value,
            UsagePlanId = options.StripeUsagePlanId,
            CreatedAt = now,
            UpdatedAt = now,
        };

        var progress = new Progress(subscriber);
        try
        {
            var recordPending = existing is null ? CreatePendingAsync(subscriber, cancellationToken) : Task.FromResult<Subscriber?>(existing);
            var key = EnsureKeyAsync(email, subscriber, progress, cancellationToken);
            var customer = EnsureCustomerAsync(subscriber, progress, cancellationToken);
            await Task.WhenAll(recordPending, key, customer);
            var apiKey = await key;
            var customerId = await customer;

            progress.Step = "grant access and subscribe";
            var enable = apiKey.Enabled ? Task.CompletedTask : apiKeys.SetEnabledAsync(apiKey.Id, true, cancellationToken);
            var addToPlan = apiKeys.AddToUsagePlanAsync(options.StripeUsagePlanId, apiKey.Id, cancellationToken);
            var subscription = EnsureSubscriptionAsync(subscriber, customerId, progress, cancellationToken);
            var linkKey = billing.SetCustomerMetadataAsync(
                customerId,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["awsAPIKeyId"] = apiKey.Id },
                $"customer-metadata:{subscriberId}:{apiKey.Id}",
                cancellationToken);
            progress.AccessMayExist = true;
            await Task.WhenAll(enable, addToPlan, subscription, linkKey);

            progress.Step = "record the subscriber";
            await RecordAsync(
                progress with
                {
                    Status = SubscriberStatus.Active,
                    Registered = true,
                    Subscribed = true,
                },
                await recordPending,
                cancellationToken);
            Log.Registered(logger, subscriberId, apiKey.Id, customerId);
            return new RegistrationOutcome.Registered(
                subscriberId,
                apiKey.Id,
                apiKey.Value ?? throw new InvalidOperationException("The API key was read without its value."));
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.StepFailed(logger, exception, subscriberId, progress.Step);
            await WithdrawAsync(progress);
            throw new RegistrationFailedException(progress.Step, exception);
        }
    }

    /// <summary>
    /// Under the claim nobody else creates this record; losing the race means a stale claim was taken over and the
    /// other attempt's record stands, which RecordAsync merges with.
    /// </summary>
    /// <returns>The record as stored, when this call stored it.</returns>
    private async Task<Subscriber?> CreatePendingAsync(Subscriber subscriber, CancellationToken cancellationToken) =>
        await ledger.TryCreateAsync(subscriber, cancellationToken) ? subscriber with { Version = 1 } : null;

    private async Task<ApiKey> EnsureKeyAsync(Email email, Subscriber subscriber, Progress progress, CancellationToken cancellationToken)
    {
        ApiKey? key = null;
        if (subscriber.ApiKeyId is { } knownId)
        {
            key = await apiKeys.GetAsync(knownId, includeValue: true, cancellationToken);
        }

        if (key is null && subscriber.Version > 0)
        {
            // An earlier attempt may have created the key and lost the answer: find it by its deterministic name.
            var name = ApiKeyNameFor(email);
            var found = await apiKeys.FindByNameAsync(name, includeValue: true, cancellationToken);
            key = found.Where(k => string.Equals(k.Name, name, StringComparison.Ordinal)).OrderBy(k => k.Id, StringComparer.Ordinal).FirstOrDefault();
        }

        key ??= await apiKeys.CreateAsync(
            new ApiKeySpec(
                ApiKeyNameFor(email),
                $"Stripe subscriber {email.Normalized}",
                Enabled: false,
                CustomerId: null,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["monetization:channel"] = "stripe" }),
            cancellationToken);
        progress.ApiKeyId = key.Id;
        return key;
    }

    private async Task<string> EnsureCustomerAsync(Subscriber subscriber, Progress progress, CancellationToken cancellationToken)
    {
        var customerId = subscriber.StripeCustomerId ?? await billing.CreateCustomerAsync(
            new NewBillingCustomer(
                subscriber.Email!,
                $"{subscriber.FirstName} {subscriber.LastName}",
                new Dictionary<string, string>(StringComparer.Ordinal) { ["subscriberId"] = subscriber.Id }),
            $"customer:{subscriber.Id}",
            cancellationToken);
        progress.StripeCustomerId = customerId;
        return customerId;
    }

    private async Task EnsureSubscriptionAsync(Subscriber subscriber, string customerId, Progress progress, CancellationToken cancellationToken)
    {
        if (subscriber.StripeSubscriptionId is null)
        {
            var subscription = await billing.SubscribeAsync(customerId, $"subscription:{subscriber.Id}:{customerId}", cancellationToken);
            progress.StripeSubscriptionId = subscription.Id;
        }
    }

    /// <summary>
    /// Writes what is known, merging with whatever an earlier or concurrent attempt recorded. <paramref name="known"/>,
    /// the record as this attempt last saw it, saves the read in the common case; a conflict falls back to reading.
    /// </summary>
    private async Task RecordAsync(Progress progress, Subscriber? known, CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var current = attempt == 0 && known is not null ? known : await ledger.GetAsync(progress.Subscriber.Id, cancellationToken);
            var next = progress.ApplyTo(current ?? progress.Subscriber, clock.GetUtcNow());
            var written = current is null
                ? await ledger.TryCreateAsync(next, cancellationToken)
                : await ledger.TryReplaceAsync(next, current.Version, cancellationToken);
            if (written)
            {
                return;
            }
        }

        throw new InvalidOperationException($"The ledger record {progress.Subscriber.Id} kept changing while it was written.");
    }

    /// <summary>
    /// Leaves no access behind a failed attempt and remembers what was created so a retry reuses it. Each part is
    /// best effort: the failure being reported is the original one.
    /// </summary>
    private async Task WithdrawAsync(Progress progress)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var cancellationToken = timeout.Token;
        var tasks = new List<Task> { BestEffort(() => RecordAsync(progress with { Status = SubscriberStatus.Pending }, null, cancellationToken), "record progress") };
        if (progress.ApiKeyId is { } keyId)
        {
            tasks.Add(BestEffort(() => apiKeys.SetEnabledAsync(keyId, false, cancellationToken), "disable key"));
            if (progress.AccessMayExist)
            {
                tasks.Add(BestEffort(() => apiKeys.RemoveFromUsagePlanAsync(options.StripeUsagePlanId, keyId, cancellationToken), "remove key from plan"));
            }
        }

        await Task.WhenAll(tasks);

        async Task BestEffort(Func<Task> action, string what)
        {
            try
            {
                await action();
            }
            catch (Exception exception)
            {
                Log.WithdrawFailed(logger, exception, progress.Subscriber.Id, what);
            }
        }
    }

    private static void AddError(Dictionary<string, string[]> errors, string field, string? error)
    {
        if (error is not null)
        {
            errors[field] = [error];
        }
    }

    /// <summary>What this attempt has learned; merged into the ledger record on success and on failure.</summary>
    private sealed record Progress(Subscriber Subscriber)
    {
        public string Step { get; set; } = "create key and customer";

        public bool AccessMayExist { get; set; }

        public string? ApiKeyId { get; set; } = Subscriber.ApiKeyId;

        public string? StripeCustomerId { get; set; } = Subscriber.StripeCustomerId;

        public string? StripeSubscriptionId { get; set; } = Subscriber.StripeSubscriptionId;

        public SubscriberStatus Status { get; init; } = SubscriberStatus.Pending;

        public bool Registered { get; init; }

        public bool Subscribed { get; init; }

        public Subscriber ApplyTo(Subscriber current, DateTimeOffset now) => current with
        {
            Status = current.Status == SubscriberStatus.Pending ? Status : current.Status,
            ApiKeyId = ApiKeyId ?? current.ApiKeyId,
            StripeCustomerId = StripeCustomerId ?? current.StripeCustomerId,
            StripeSubscriptionId = StripeSubscriptionId ?? current.StripeSubscriptionId,
            Registered = current.Registered || Registered,
            Subscribed = current.Subscribed || Subscribed,
            UpdatedAt = now,
        };
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Registered subscriber {SubscriberId} with API key {ApiKeyId} and Stripe customer {StripeCustomerId}")]
        public static partial void Registered(ILogger logger, string subscriberId, string apiKeyId, string stripeCustomerId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Registration of {SubscriberId} failed at step {Step}; withdrawing access")]
        public static partial void StepFailed(ILogger logger, Exception exception, string subscriberId, string step);

        [LoggerMessage(Level = LogLevel.Error, Message = "Could not {Action} while withdrawing a failed registration of {SubscriberId}")]
        public static partial void WithdrawFailed(ILogger logger, Exception exception, string subscriberId, string action);
    }
}
