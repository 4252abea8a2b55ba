using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Monetization.Aws;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;
using Monetization.Stripe;
using Monetization.UsageReporter;

namespace Monetization.Tests.Accounts;

/// <summary>
/// The key minting function in process: the usage reporter's program (its container, wired as on Lambda) fed by the key
/// minting queue's event source, so first keys are made in tests the way the stack makes them.
/// </summary>
public sealed class KeyMintingConsumer : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private KeyMintingConsumer(ServiceProvider services, OfflineEnvironment environment)
    {
        _services = services;
        Source = environment.KeyMinting(InvokeAsync);
    }

    public SqsEventSource Source { get; }

    public IServiceProvider Services => _services;

    public static KeyMintingConsumer Start(OfflineEnvironment environment, IReadOnlyDictionary<string, string?>? settings = null)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.UsageReporterConfiguration())
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ApiGatewayBudget:ImportsPerSecond"] = "2" })
            .AddInMemoryCollection(settings ?? new Dictionary<string, string?>())
            .Build();
        var services = new ServiceCollection().AddLogging();
        services.AddUsageReporter(configuration);
        services.PostConfigure<AwsClientOptions>(AwsServiceCollectionExtensions.ApiGatewayOptionsName, o =>
        {
            o.Timeout = TimeSpan.FromSeconds(2);
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
            o.RetryMaxDelay = TimeSpan.FromMilliseconds(5);
        });
        services.PostConfigure<StripeOptions>(o =>
        {
            o.AttemptTimeout = TimeSpan.FromSeconds(2);
            o.RetryBaseDelay = TimeSpan.FromMilliseconds(1);
            o.RetryMaxDelay = TimeSpan.FromMilliseconds(5);
            o.RateLimitDelay = TimeSpan.FromMilliseconds(5);
        });
        var provider = services.BuildServiceProvider();
        UsageReporterServices.ValidateNow(provider);
        return new KeyMintingConsumer(provider, environment);
    }

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        await _services.DisposeAsync();
    }

    private async Task<string> InvokeAsync(string payload, CancellationToken cancellationToken)
    {
        await using var answer = await UsageReporterServices.InvokeAsync(_services, new MemoryStream(Encoding.UTF8.GetBytes(payload)), cancellationToken);
        using var reader = new StreamReader(answer, Encoding.UTF8);
        return await reader.ReadToEndAsync(cancellationToken);
    }
}
