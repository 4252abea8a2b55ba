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
    private const int Attempts = 5;

    /// <summary>
    /// Creates a server object for a free port and starts it. A port found free can be taken before the server binds
    /// it; another one is tried then. A server that fails to start is disposed.
    /// </summary>
    public static Task<T> StartOnFreePortAsync<T>(Func<Uri, T> create, Func<T, int, CancellationToken, Task> start, CancellationToken cancellationToken)
        where T : IAsyncDisposable
    {
        ArgumentNullException.ThrowIfNull(create);
        ArgumentNullException.ThrowIfNull(start);
        return OnFreePortAsync(
            async (port, ct) =>
            {
                var server = create(new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"));
                try
                {
                    await start(server, port, ct).ConfigureAwait(false);
                    return server;
                }
                catch
                {
                    await server.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
            },
            cancellationToken);
    }

    /// <summary>
    /// The one place that retries the race between finding a free port and binding it: <paramref name="start"/> gets a
    /// free loopback port and is asked again with another when it fails because the port was taken meanwhile (Kestrel's
    /// <see cref="AddressInUseException"/>, or a <see cref="PortTakenException"/> from a server in another process).
    /// </summary>
    public static async Task<T> OnFreePortAsync<T>(Func<int, CancellationToken, Task<T>> start, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(start);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await start(FreePort.Next(), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt < Attempts && IsPortTaken(e))
            {
                // Someone bound the port between FreePort.Next and the server; try another.
            }
        }
    }

    private static bool IsPortTaken(Exception e) =>
        e is PortTakenException || (e is IOException && e.InnerException is AddressInUseException);

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

/// <summary>A server could not listen because its port was taken after it was found free.</summary>
public sealed class PortTakenException : Exception
{
    public PortTakenException()
    {
    }

    public PortTakenException(string message)
        : base(message)
    {
    }

    public PortTakenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
