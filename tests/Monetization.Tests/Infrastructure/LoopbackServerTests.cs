using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Monetization.Emulators;

namespace Monetization.Tests.Infrastructure;

/// <summary>The one retry of the race between finding a free port and binding it.</summary>
public sealed class LoopbackServerTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AServerWhosePortWasTakenIsStartedOnAnotherPort()
    {
        var ports = new List<int>();

        var port = await LoopbackServer.OnFreePortAsync((p, _) =>
        {
            ports.Add(p);
            return ports.Count == 1 ? throw new PortTakenException("taken") : Task.FromResult(p);
        }, Cancel);

        Assert.Equal(2, ports.Count);
        Assert.Equal(ports[1], port);
    }

    [Fact]
    public async Task KestrelsAddressInUseIsRetriedToo()
    {
        var calls = 0;

        var result = await LoopbackServer.OnFreePortAsync((_, _) =>
            ++calls == 1 ? throw new IOException("bind", new AddressInUseException("in use")) : Task.FromResult(calls), Cancel);

        Assert.Equal(2, result);
    }

    [Fact]
    public async Task OtherFailuresAreNotRetried()
    {
        var calls = 0;

        await Assert.ThrowsAsync<InvalidOperationException>(() => LoopbackServer.OnFreePortAsync<int>((_, _) =>
        {
            calls++;
            throw new InvalidOperationException("broken");
        }, Cancel));

        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task APortThatStaysTakenFailsAfterAFewAttempts()
    {
        var calls = 0;

        await Assert.ThrowsAsync<PortTakenException>(() => LoopbackServer.OnFreePortAsync<int>((_, _) =>
        {
            calls++;
            throw new PortTakenException("taken");
        }, Cancel));

        Assert.Equal(5, calls);
    }

    [Fact]
    public async Task AnEmulatorStartsOnAFreePortEvenWhenTheFirstPortIsTaken()
    {
        // A real bind failure: the first port offered is held by a listener, the server must land on another.
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var held = ((IPEndPoint)holder.LocalEndpoint).Port;
        var offered = 0;

        await using var server = await LoopbackServer.StartOnFreePortAsync(
            endpoint => new Started(LoopbackServer.CreateApp(endpoint.Port)),
            async (s, _, ct) =>
            {
                // The first attempt is pointed at the held port whatever FreePort said.
                if (offered++ == 0)
                {
                    await using var taken = new Started(LoopbackServer.CreateApp(held));
                    await taken.App.StartAsync(ct);
                }

                await s.App.StartAsync(ct);
            },
            Cancel);

        Assert.Equal(2, offered);
    }

    private sealed record Started(Microsoft.AspNetCore.Builder.WebApplication App) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => App.DisposeAsync();
    }
}
