using System.Text;
using Microsoft.Extensions.Logging;
using Monetization.Core.ApiKeys;
using Monetization.Core.Billing;
using Monetization.Core.Idempotency;
using Monetization.Core.Ledger;

namespace Monetization.Core.Registration;

/// <param name="Return">Where the Checkout sends the customer back; required when payment is collected by Checkout.</param>
public sealed record RegistrationRequest(string? Email, string? FirstName, string? LastName, CheckoutReturn? Return = null);

/// <param name="SuccessUrl">Carries <see cref="NewCheckout.CheckoutSessionIdPlaceholder"/>, so the return names the checkout it completes.</param>
public sealed record CheckoutReturn(string SuccessUrl, string CancelUrl);

/// <summary>How a Stripe subscriber pays. Neither way starts a subscription that charges a card nobody entered.</summary>
public enum PaymentCollection
{
    /// <summary>The key works once the subscriber has entered a payment method in a Stripe Checkout.</summary>
    Checkout,

    /// <summary>The key works at once; Stripe e-mails an invoice each period, payable within the configured days.</summary>
    Invoice,
}

public abstract record RegistrationOutcome
{
    private RegistrationOutcome()
    {
    }

    /// <summary>Invoice collection: the key works now. Like <see cref="AwaitingPayment"/> it carries the key value, which is never stored, so it is shown exactly once.</summary>
    public sealed record Registered(string SubscriberId, string ApiKeyId, Secret ApiKeyValue) : RegistrationOutcome;

    /// <summary>Checkout collection: the key is shown now, exactly once, and stays disabled until the checkout is paid.</summary>
    public sealed record AwaitingPayment(string SubscriberId, string ApiKeyId, Secret ApiKeyValue, Uri CheckoutUrl) : RegistrationOutcome;

    /// <summary>The e-mail registered earlier and has not paid: the checkout to resume, never the key.</summary>
    public sealed record PaymentPending(Uri CheckoutUrl) : RegistrationOutcome;

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
    public PaymentCollection PaymentCollection { get; init; } = PaymentCollection.Checkout;

    /// <summary>With <see cref="PaymentCollection.Invoice"/>: the days a subscriber has to pay each invoice.</summary>
    public int InvoiceDaysUntilDue { get; init; } = 30;
}

/// <summary>
/// Self-serve signup for the Stripe channel: one API key, one Stripe customer, one metered subscription per e-mail.
/// <para>
/// How the subscription starts depends on <see cref="RegistrationOptions.PaymentCollection"/>. With Checkout (the
/// default) step (2) links the key id on the customer and opens a Stripe Checkout instead of subscribing: the key value
/// is shown once, the key stays disabled and outside the plan, and <see cref="ActivateSubscription"/> grants it when the
/// checkout is paid. The record then says the key was handed out (<see cref="Subscriber.Registered"/> while Pending),
/// so a later registration of the e-mail resumes the checkout and never shows the key again. With invoices step (2)
/// subscribes with <c>collection_method=send_invoice</c> and grants the key at once.
/// </para>
/// <para>
/// Two sequential ledger writes and two dependent hops to the outside world on the way to success: (ledger) claim the
/// registration and create its pending record side by side; (1) create the disabled API key and the Stripe customer
/// side by side; (2) grant the key (enable it and add it to the usage plan), subscribe the customer and link the key id
/// on the customer side by side; (ledger) record the subscriber Active. If anything fails the key's access is revoked,
/// progress is recorded and the claim is released, so a retry resumes with the same key and — through idempotency
/// keys derived from the subscriber id — the same Stripe objects.
/// </para>
/// <para>
/// The claim is a lease, not the memory: the subscriber record says whether the e-mail is registered, so a successful
/// registration does not spend a third write completing its claim. The claim lapses after the in-progress timeout and
/// until then keeps every other attempt away from the record; a later attempt finds the record and answers
/// <see cref="RegistrationOutcome.AlreadyRegistered"/>.
/// </para>
/// <para>
/// Nothing that leaves the system carries the e-mail: the subscriber id is <c>stripe#</c> plus
/// <see cref="SubscriberRef.Hash"/> of the normalised address, and key names, descriptions, Stripe metadata,
/// idempotency keys and log lines are derived from that id. The address itself is stored in the record and given to
/// Stripe as the customer's e-mail, its only use.
/// </para>
/// </summary>
public sealed partial class RegisterSubscriber(
    IdempotentExecutor executor,
    ISubscriberLedger ledger,
    ApiKeyAccess access,
    IBilling billing,
    ActivateSubscription activation,
    RegistrationOptions options,
    StripeChannelOptions channel,
    TimeProvider clock,
    ILogger<RegisterSubscriber> logger)
{
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

        if (options.PaymentCollection == PaymentCollection.Checkout && request.Return is null)
        {
            throw new ArgumentException("Registration with Checkout needs the URLs the customer returns to.", nameof(request));
        }

        var subscriberId = SubscriberIdFor(email);
        var holder = KeyHolderFor(email);
        var now = clock.GetUtcNow();
        var fresh = new Subscriber
        {
            Id = subscriberId,
            Channel = Channel.Stripe,
            Status = SubscriberStatus.Pending,
            Email = email.Normalized,
            FirstName = firstName.Value,
            LastName = lastName.Value,
            UsagePlanId = channel.StripeUsagePlanId,
            CreatedAt = now,
            UpdatedAt = now,
        };

        // Side by side: creating the record answers whether an earlier attempt left one, so the common case reads
        // nothing. Under a claim held by someone else the record this may create is theirs to resume from.
        var create = ledger.TryCreateAsync(fresh, cancellationToken);
        var claiming = executor.ClaimAsync($"register#{subscriberId}", Encoding.UTF8.GetBytes(subscriberId), cancellationToken);
        await ((Task)create).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var attempt = await claiming;
        if (attempt.Claim is not { } claim)
        {
            // A claim that was taken and never completed lapses; the record, not the claim, says how it ended.
            return await StandingOutcomeAsync(attempt.Standing!, subscriberId, request.Return, cancellationToken);
        }

        try
        {
            var created = await create;
            var subscriber = created ? fresh with { Version = 1 } : await ledger.GetAsync(subscriberId, cancellationToken);

            // Records are never deleted, so one the create refused is there to read. Like a successful registration's,
            // the claim is left to lapse.
            return subscriber switch
            {
                null or { Status: not SubscriberStatus.Pending } => new RegistrationOutcome.AlreadyRegistered(),
                { Registered: true } => await ResumePaymentAsync(subscriber, request.Return, cancellationToken),
                _ => await RegisterClaimedAsync(subscriber, holder, created, request.Return, cancellationToken),
            };
        }
        catch (Exception failure)
        {
            try
            {
                await claim.ReleaseAsync();
            }
            catch (Exception releaseFailure)
            {
                Log.WithdrawFailed(logger, releaseFailure, subscriberId, "release the claim (it lapses after the in-progress timeout)");
            }

            if (failure is RegistrationFailedException or OperationCanceledException)
            {
                throw;
            }

            Log.StepFailed(logger, failure, subscriberId, RecordStep);
            throw new RegistrationFailedException(RecordStep, failure);
        }
    }

    /// <summary>Contains no personal data: see <see cref="SubscriberRef"/>.</summary>
    public static string SubscriberIdFor(Email email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return $"stripe#{SubscriberRef.Hash(email.Normalized)}";
    }

    /// <summary>The key is named <c>stripe:</c> plus the same hash as the subscriber id.</summary>
    public static KeyHolder KeyHolderFor(Email email)
    {
        ArgumentNullException.ThrowIfNull(email);
        return new KeyHolder(SubscriberIdFor(email), Channel.Stripe, $"stripe:{SubscriberRef.Hash(email.Normalized)}", CustomerId: null);
    }

    private const string RecordStep = "record the subscriber";

    /// <summary>Someone else holds the claim, or held it: the record tells a finished registration from a running one.</summary>
    /// <remarks>
    /// A registration that showed its key and waits for payment left its claim to lapse too; resuming its checkout
    /// needs no claim, because the checkout's idempotency key makes concurrent resumes open the same one.
    /// </remarks>
    private async Task<RegistrationOutcome> StandingOutcomeAsync(IdempotencyOutcome standing, string subscriberId, CheckoutReturn? checkoutReturn, CancellationToken cancellationToken)
    {
        if (standing is not IdempotencyOutcome.InProgress)
        {
            return new RegistrationOutcome.AlreadyRegistered();
        }

        var record = await ledger.GetAsync(subscriberId, cancellationToken);
        return record switch
        {
            { Status: not SubscriberStatus.Pending } => new RegistrationOutcome.AlreadyRegistered(),
            { Registered: true } => await ResumePaymentAsync(record, checkoutReturn, cancellationToken),
            _ => new RegistrationOutcome.InProgress(),
        };
    }

    /// <param name="created">This attempt created the record just now, before any key: there is no key to find.</param>
    private async Task<RegistrationOutcome> RegisterClaimedAsync(Subscriber subscriber, KeyHolder holder, bool created, CheckoutReturn? checkoutReturn, CancellationToken cancellationToken)
    {
        var progress = new Progress(subscriber);
        try
        {
            var key = created
                ? access.CreateAsync(holder, cancellationToken)
                : access.FindOrCreateAsync(holder, includeValue: true, cancellationToken);
            var customer = EnsureCustomerAsync(subscriber, progress, cancellationToken);
            await Task.WhenAll(KeepKeyAsync(key, progress), customer);
            var apiKey = await key;
            var customerId = await customer;

            var linkKey = billing.SetCustomerMetadataAsync(
                customerId,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["awsAPIKeyId"] = apiKey.Id },
                $"customer-metadata:{subscriber.Id}:{apiKey.Id}",
                cancellationToken);
            var value = apiKey.Value ?? throw new InvalidOperationException("The API key was read without its value.");
            if (options.PaymentCollection == PaymentCollection.Checkout)
            {
                progress.Step = "open the checkout";
                var checkout = EnsureCheckoutAsync(subscriber, customerId, checkoutReturn!, fresh: created, cancellationToken);
                await Task.WhenAll(linkKey, checkout);

                progress.Step = RecordStep;
                await RecordAsync(progress, SubscriberStatus.Pending, new KnownRecord(subscriber), cancellationToken, keyIssued: true);
                Log.AwaitingPayment(logger, subscriber.Id, apiKey.Id, customerId);
                return new RegistrationOutcome.AwaitingPayment(subscriber.Id, apiKey.Id, value, (await checkout).Url!);
            }

            progress.Step = "grant access and subscribe";
            progress.AccessMayExist = true;
            await Task.WhenAll(
                access.GrantAsync(apiKey.Id, apiKey.Enabled, channel.StripeUsagePlanId, cancellationToken),
                EnsureSubscriptionAsync(subscriber, customerId, progress, cancellationToken),
                linkKey);

            progress.Step = RecordStep;
            await RecordAsync(progress, SubscriberStatus.Active, new KnownRecord(subscriber), cancellationToken);
            Log.Registered(logger, subscriber.Id, apiKey.Id, customerId);
            return new RegistrationOutcome.Registered(subscriber.Id, apiKey.Id, value);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.StepFailed(logger, exception, subscriber.Id, progress.Step);
            await WithdrawAsync(progress);
            throw new RegistrationFailedException(progress.Step, exception);
        }
    }

    private static async Task KeepKeyAsync(Task<ApiKey> key, Progress progress) => progress.Key = await key;

    /// <summary>
    /// The key was shown when this e-mail registered and payment is still missing: the open checkout again (or a new
    /// one once the last expired), never the key. A checkout that was paid but not yet applied is applied now.
    /// </summary>
    private async Task<RegistrationOutcome> ResumePaymentAsync(Subscriber subscriber, CheckoutReturn? checkoutReturn, CancellationToken cancellationToken)
    {
        if (checkoutReturn is null || subscriber.StripeCustomerId is not { } customerId)
        {
            // Registered under invoice collection and never finished, or collection changed since: nothing to resume.
            return new RegistrationOutcome.AlreadyRegistered();
        }

        try
        {
            var checkout = await EnsureCheckoutAsync(subscriber, customerId, checkoutReturn, fresh: false, cancellationToken);
            if (checkout.Status == BillingCheckoutStatus.Complete)
            {
                await activation.ActivateAsync(checkout.Id, cancellationToken);
                return new RegistrationOutcome.AlreadyRegistered();
            }

            return new RegistrationOutcome.PaymentPending(checkout.Url!);
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.StepFailed(logger, exception, subscriber.Id, "resume the checkout");
            throw new RegistrationFailedException("resume the checkout", exception);
        }
    }

    /// <summary>
    /// The subscriber's open checkout, else a paid one, else a new one. The idempotency key counts the checkouts seen,
    /// so a retry replays the checkout a lost answer created, and one opened after the last expired is a new one.
    /// </summary>
    /// <param name="fresh">The record was created just now: there is no earlier checkout to look for.</param>
    private async Task<BillingCheckout> EnsureCheckoutAsync(Subscriber subscriber, string customerId, CheckoutReturn checkoutReturn, bool fresh, CancellationToken cancellationToken)
    {
        var earlier = fresh ? [] : (await billing.ListCheckoutsAsync(customerId, cancellationToken))
            .Where(c => string.Equals(c.SubscriberId, subscriber.Id, StringComparison.Ordinal))
            .ToList();
        var usable = earlier.FirstOrDefault(c => c.Status == BillingCheckoutStatus.Complete)
            ?? earlier.FirstOrDefault(c => c.Status == BillingCheckoutStatus.Open && c.Url is not null);
        return usable ?? await billing.StartCheckoutAsync(
            new NewCheckout(customerId, subscriber.Id, checkoutReturn.SuccessUrl, checkoutReturn.CancelUrl),
            $"checkout:{subscriber.Id}:{customerId}:{earlier.Count}",
            cancellationToken);
    }

    private async Task<string> EnsureCustomerAsync(Subscriber subscriber, Progress progress, CancellationToken cancellationToken)
    {
        // A resumed attempt uses the names its record started with, so the customer's parameters (and so its
        // idempotency key's stored result) stay the same.
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
        var subscriptionId = subscriber.StripeSubscriptionId ?? (await billing.SubscribeByInvoiceAsync(
            customerId, options.InvoiceDaysUntilDue, $"subscription:{subscriber.Id}:{customerId}", cancellationToken)).Id;
        progress.StripeSubscriptionId = subscriptionId;

        // Before the record names the subscription, so webhooks about it always find their subscriber.
        await ledger.AddStripeSubscriptionAsync(subscriptionId, subscriber.Id, cancellationToken);
    }

    /// <summary>
    /// Merges what this attempt learned into the record. Under the claim nobody else writes it, so a conflict is this
    /// attempt's own write whose answer was lost, or a stale claim taken over; either way the merge is right.
    /// </summary>
    /// <param name="keyIssued">The key value is about to be shown: the record must say so before it is.</param>
    private Task RecordAsync(Progress progress, SubscriberStatus status, KnownRecord? known, CancellationToken cancellationToken, bool keyIssued = false) =>
        ledger.UpdateAsync(
            progress.Subscriber.Id,
            current => progress.ApplyTo(current ?? progress.Subscriber, status, keyIssued, clock.GetUtcNow()),
            known,
            cancellationToken);

    /// <summary>
    /// Leaves no access behind a failed attempt and remembers what was created so a retry reuses it. Each part is
    /// best effort: the failure being reported is the original one.
    /// </summary>
    private async Task WithdrawAsync(Progress progress)
    {
        using var cleanup = CallBudget.Cleanup();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var cancellationToken = timeout.Token;
        var tasks = new List<Task> { BestEffort(() => RecordAsync(progress, SubscriberStatus.Pending, known: null, cancellationToken), "record progress") };
        if (progress.Key is { } key && (progress.AccessMayExist || key.Enabled))
        {
            // The grant may have enabled the key after it was read; nobody was shown it, so it has no usage to settle.
            tasks.Add(BestEffort(() => access.WithdrawUnusedAsync(key.Id, channel.StripeUsagePlanId, cancellationToken), "withdraw the key's access"));
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
    private sealed class Progress(Subscriber subscriber)
    {
        public Subscriber Subscriber { get; } = subscriber;

        public string Step { get; set; } = "create key and customer";

        public bool AccessMayExist { get; set; }

        public ApiKey? Key { get; set; }

        public string? StripeCustomerId { get; set; } = subscriber.StripeCustomerId;

        public string? StripeSubscriptionId { get; set; } = subscriber.StripeSubscriptionId;

        public Subscriber ApplyTo(Subscriber current, SubscriberStatus status, bool keyIssued, DateTimeOffset now)
        {
            var active = status == SubscriberStatus.Active;
            return current with
            {
                Status = current.Status == SubscriberStatus.Pending ? status : current.Status,
                ApiKeyId = Key?.Id ?? current.ApiKeyId,
                StripeCustomerId = StripeCustomerId ?? current.StripeCustomerId,
                StripeSubscriptionId = StripeSubscriptionId ?? current.StripeSubscriptionId,
                Registered = current.Registered || active || keyIssued,
                Subscribed = current.Subscribed || active,
                SettlingSince = active ? null : current.SettlingSince,
                UpdatedAt = now,
            };
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Registered subscriber {SubscriberId} with API key {ApiKeyId} and Stripe customer {StripeCustomerId}")]
        public static partial void Registered(ILogger logger, string subscriberId, string apiKeyId, string stripeCustomerId);

        [LoggerMessage(Level = LogLevel.Information, Message = "Registered subscriber {SubscriberId} with API key {ApiKeyId} (disabled until paid) and Stripe customer {StripeCustomerId}; checkout opened")]
        public static partial void AwaitingPayment(ILogger logger, string subscriberId, string apiKeyId, string stripeCustomerId);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Registration of {SubscriberId} failed at step {Step}; withdrawing access")]
        public static partial void StepFailed(ILogger logger, Exception exception, string subscriberId, string step);

        [LoggerMessage(Level = LogLevel.Error, Message = "Could not {Action} while withdrawing a failed registration of {SubscriberId}")]
        public static partial void WithdrawFailed(ILogger logger, Exception exception, string subscriberId, string action);
    }
}
