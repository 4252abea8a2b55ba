using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Monetization.Core.Ledger;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;
using Monetization.UsageReporter;

namespace Monetization.Benchmarks;

/// <summary>
/// The key minting function of a flood: the usage reporter's program (over the flood's subscriber ledger) fed by the
/// key minting queue as Lambda's SQS mapping feeds it, with the counts it is measured from taken as it starts.
/// </summary>
internal sealed class KeyMintingRig : IAsyncDisposable
{
    private readonly ServiceProvider _reporter;

    private KeyMintingRig(OfflineEnvironment environment, ServiceProvider reporter)
    {
        _reporter = reporter;
        ImportsBefore = environment.KeyImport.Imports;
        AcceptedBefore = environment.Quotas.Accepted.Values.Sum();
        Source = environment.KeyMinting(async (payload, ct) =>
        {
            await using var answer = await UsageReporterServices.InvokeAsync(reporter, new MemoryStream(Encoding.UTF8.GetBytes(payload)), ct);
            using var reader = new StreamReader(answer);
            return await reader.ReadToEndAsync(ct);
        });
    }

    /// <summary>The usage reporter's container (the hourly report runs in it too).</summary>
    public IServiceProvider Reporter => _reporter;

    public SqsEventSource Source { get; }

    public int ImportsBefore { get; }

    public int AcceptedBefore { get; }

    public static KeyMintingRig Start(OfflineEnvironment environment, ISubscriberLedger ledger)
    {
        var reporter = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning))
            .AddUsageReporter(new ConfigurationBuilder().AddInMemoryCollection(environment.UsageReporterConfiguration()).Build())
            .AddSingleton(ledger)
            .BuildServiceProvider();
        UsageReporterServices.ValidateNow(reporter);
        return new KeyMintingRig(environment, reporter);
    }

    public async ValueTask DisposeAsync()
    {
        await Source.DisposeAsync();
        await _reporter.DisposeAsync();
    }
}
