using Monetization.Emulators.Moto;

namespace Monetization.Tests.Infrastructure;

/// <summary>
/// One moto_server for a test class. Tests that share it must use unique resource names; a missing moto_server fails
/// the tests with the install command rather than skipping them. Requests are served one at a time.
/// </summary>
public class MotoFixture : IAsyncLifetime
{
    private MotoServer? _server;

    public MotoServer Server => _server ?? throw new InvalidOperationException("moto_server is not started.");

    public Uri Endpoint => Server.Endpoint;

    protected virtual MotoServerOptions Options => new();

    /// <summary>
    /// A server with IAM checks is this fixture's own; any other is rented (serialized, reset for each user), so
    /// the test classes that need nothing more do not each start moto.
    /// </summary>
    public async ValueTask InitializeAsync() => _server = Options.InitialNoAuthActionCount is null
        ? await MotoServer.RentAsync(TestContext.Current.CancellationToken)
        : await MotoServer.StartAsync(Options, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
