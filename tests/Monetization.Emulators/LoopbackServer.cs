using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Monetization.Emulators;

/// <summary>How every emulator in this project comes up: Kestrel on a free loopback port, quiet, started once bound.</summary>
public static class LoopbackServer
{
    /// <summary>
    /// Creates a server object for a free port and starts it. A port found free can be taken before Kestrel binds it;
    /// another one is tried then. A server that fails to start is disposed.
    /// </summary>
    public static async Task<T> StartOnFreePortAsync<T>(Func<Uri, T> create, Func<T, int, CancellationToken, Task> start, CancellationToken cancellationToken)
        where T : IAsyncDisposable
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(start);
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            var server = create(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
            try
            {
                await start(server, port, cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (IOException e) when (attempt < 5 && e.InnerException is AddressInUseException)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }
            catch
            {
                await server.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }
    }

    /// <summary>An application that listens on <paramref name="port"/> of the loopback address only and logs nothing.</summary>
    /// <param name="decodeHeadersAsLatin1">
    /// Hand header bytes Kestrel would refuse as non-ASCII to the application, so an emulator can answer them in its
    /// API's own error shape.
    /// </param>
    public static WebApplication CreateApp(int port, bool decodeHeadersAsLatin1 = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, port);
            if (decodeHeadersAsLatin1)
            {
                kestrel.RequestHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
            }
        });
        return builder.Build();
    }
}
