using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Monetization.Emulators.Moto;

/// <summary>
/// A moto_server process on a free loopback port: the real AWS emulator the tests and the sandbox run against.
/// With <see cref="MotoServerOptions.InitialNoAuthActionCount"/> set, moto verifies SigV4 signatures and evaluates IAM
/// policies for every call after the first N.
/// </summary>
public sealed class MotoServer : IAsyncDisposable
{
    public const string InstallHint = "moto_server was not found on PATH. Install it with: python3 -m pip install 'moto[server]==5.2.1'";

    private readonly Process _process;
    private readonly StringBuilder _output;

    private MotoServer(Process process, Uri endpoint, StringBuilder output)
    {
        _process = process;
        Endpoint = endpoint;
        _output = output;
    }

    public Uri Endpoint { get; }

    // Serialized servers without IAM that a user gave back, reset, for the next one; killed when the process exits.
    private static readonly ConcurrentBag<MotoServer> Idle = [];

    private bool _reusable;
    private int _returned;

    static MotoServer() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        while (Idle.TryTake(out var idle))
        {
            idle.Kill();
        }
    };

    /// <summary>
    /// A serialized moto_server without IAM checks for one user at a time, taken from those earlier users gave back or
    /// started. Disposing it forgets every resource it holds (moto's reset) and keeps the process for the next user,
    /// who is spared moto's start and its backends' imports. A server that cannot be reset is killed instead.
    /// </summary>
    public static async Task<MotoServer> RentAsync(CancellationToken cancellationToken = default)
    {
        while (Idle.TryTake(out var idle))
        {
            if (!idle._process.HasExited)
            {
                Volatile.Write(ref idle._returned, 0);
                return idle;
            }

            idle._process.Dispose();
        }

        var server = await StartAsync(new MotoServerOptions { SerializeRequests = true }, cancellationToken).ConfigureAwait(false);
        server._reusable = true;
        return server;
    }

    public static Task<MotoServer> StartAsync(MotoServerOptions? options = null, CancellationToken cancellationToken = default) =>
        LoopbackServer.OnFreePortAsync((port, ct) => StartOnPortAsync(options ?? new MotoServerOptions(), port.ToString(CultureInfo.InvariantCulture), ct), cancellationToken);

    private static async Task<MotoServer> StartOnPortAsync(MotoServerOptions options, string port, CancellationToken cancellationToken)
    {
        var executable = FindOnPath("moto_server") ?? throw new InvalidOperationException(InstallHint);
        var startInfo = options.SerializeRequests
            ? new ProcessStartInfo(FindOnPath("python3") ?? throw new InvalidOperationException(InstallHint))
            {
                ArgumentList = { "-c", SerializedServerScript, "127.0.0.1", port },
            }
            : new ProcessStartInfo(executable) { ArgumentList = { "-H", "127.0.0.1", "-p", port } };
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.UseShellExecute = false;
        if (options.InitialNoAuthActionCount is { } count)
        {
            startInfo.Environment["INITIAL_NO_AUTH_ACTION_COUNT"] = count.ToString(CultureInfo.InvariantCulture);
        }

        var output = new StringBuilder();
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException(InstallHint);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new MotoServer(process, new Uri($"http://127.0.0.1:{port}"), output);
        try
        {
            await server.WaitUntilReadyAsync(options.StartTimeout, cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    // moto_server's own app behind one lock: the same server, but a request runs only when the previous one is done.
    private const string SerializedServerScript = """
        import os, sys, threading
        from werkzeug.serving import run_simple
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
        os.environ.setdefault("MOTO_PORT", sys.argv[2])
        app = DomainDispatcherApplication(create_backend_app)
        lock = threading.Lock()
        def serialized(environ, start_response):
            with lock:
                return list(app(environ, start_response))
        run_simple(sys.argv[1], int(sys.argv[2]), serialized, threaded=True)
        """;

    /// <summary>Forgets every resource moto holds (keeps the process and its IAM settings).</summary>
    public async Task ResetAsync(CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(Endpoint, "/moto-api/reset"), null, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 1)
        {
            return;
        }

        if (_reusable && !_process.HasExited)
        {
            try
            {
                await ResetAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                Idle.Add(this);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TimeoutException or TaskCanceledException)
            {
                // Not reusable: killed below.
            }
        }

        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Kill()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                var message = $"moto_server exited with code {_process.ExitCode} before it was ready:\n{Output}";
                throw Output.Contains("Address already in use", StringComparison.Ordinal)
                    ? new PortTakenException(message)
                    : new InvalidOperationException(message);
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Endpoint, "/moto-api/data.json"), cancellationToken);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Slow first answer; ask again.
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"moto_server did not answer within {timeout.TotalSeconds:0} s:\n{Output}");
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 64_000)
            {
                output.AppendLine(line);
            }
        }
    }

    internal static string? FindOnPath(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

public sealed record MotoServerOptions
{
    /// <summary>When set, moto enforces SigV4 and IAM after this many unauthenticated calls.</summary>
    public int? InitialNoAuthActionCount { get; init; }

    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs one request at a time. moto's threaded server evaluates a condition and writes the item as two unlocked
    /// steps, so two concurrent conditional writes to one item can both succeed; DynamoDB itself never lets that
    /// happen. Tests that prove exactly-once behaviour under concurrency need this on.
    /// </summary>
    public bool SerializeRequests { get; init; }
}
