using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Monetization.Emulators.Lambda;

/// <summary>
/// A function process started the way Lambda starts one: a clean environment holding only what Lambda sets plus the
/// function's own variables, the task root as working directory, and an unprivileged user (Lambda's functions do not
/// run as root), so the read-only task root really is read-only and <c>/tmp</c> is the one writable place.
/// </summary>
public sealed class LambdaProcess : IAsyncDisposable
{
    /// <summary>The user and group the function runs as (nobody / nogroup).</summary>
    public const int FunctionUser = 65534;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private LambdaProcess(Process process)
    {
        _process = process;
        StartedAt = Stopwatch.GetTimestamp();
    }

    /// <summary>Where the .NET runtime running this code is installed: the managed runtime's <c>DOTNET_ROOT</c>.</summary>
    public static string DotnetRoot { get; } = FindDotnetRoot();

    public static string Dotnet => Path.Combine(DotnetRoot, "dotnet");

    public int Id => _process.Id;

    /// <summary><see cref="Stopwatch"/> timestamp taken right after the process was started.</summary>
    public long StartedAt { get; }

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process wrote to stdout and stderr, in order of arrival.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>
    /// <see cref="Output"/> once <paramref name="complete"/> holds for it, or as it stands after <paramref name="within"/>:
    /// the lines a handler logged are read from its pipe a moment after its answer may have arrived.
    /// </summary>
    public async Task<string> OutputWhenAsync(Func<string, bool> complete, TimeSpan within, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(complete);
        var deadline = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        var output = Output;
        while (!complete(output) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
            output = Output;
        }

        return output;
    }

    /// <summary>
    /// The variables Lambda sets for every function (docs: "Defined runtime environment variables"), for the managed
    /// dotnet10 runtime.
    /// </summary>
    public static Dictionary<string, string> LambdaVariables(string taskRoot, string handler, string runtimeApi, string functionName, string region, (string AccessKey, string SecretKey, string SessionToken) credentials) =>
        new(StringComparer.Ordinal)
        {
            ["LAMBDA_TASK_ROOT"] = taskRoot,
            ["_HANDLER"] = handler,
            ["AWS_LAMBDA_RUNTIME_API"] = runtimeApi,
            ["AWS_REGION"] = region,
            ["AWS_DEFAULT_REGION"] = region,
            ["AWS_ACCESS_KEY_ID"] = credentials.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = credentials.SecretKey,
            ["AWS_SESSION_TOKEN"] = credentials.SessionToken,
            ["AWS_LAMBDA_FUNCTION_NAME"] = functionName,
            ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "1024",
            ["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST",
            ["AWS_EXECUTION_ENV"] = "AWS_Lambda_dotnet10",
            ["TZ"] = ":UTC",
            ["PATH"] = $"{DotnetRoot}:/usr/local/bin:/usr/bin:/bin",
            ["DOTNET_ROOT"] = DotnetRoot,
            ["LANG"] = "en_US.UTF-8",
        };

    /// <summary>Starts <paramref name="command"/> as the function's user from <paramref name="taskRoot"/> with exactly <paramref name="environment"/>.</summary>
    public static LambdaProcess Start(string taskRoot, IReadOnlyList<string> command, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(taskRoot);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(environment);
        const string setpriv = "/usr/bin/setpriv";
        if (!File.Exists(setpriv))
        {
            throw new InvalidOperationException("setpriv is missing (it runs the function as an unprivileged user): apt-get install util-linux");
        }

        var start = new ProcessStartInfo(setpriv)
        {
            WorkingDirectory = taskRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { $"--reuid={FunctionUser}", $"--regid={FunctionUser}", "--clear-groups", "--" }.Concat(command))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment.Clear();
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var lambda = new LambdaProcess(process);
        process.OutputDataReceived += (_, e) => lambda.Append(e.Data);
        process.ErrorDataReceived += (_, e) => lambda.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return lambda;
    }

    /// <summary>Waits for the process to exit and returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
        }
    }

    private static string FindDotnetRoot()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_ROOT") is { Length: > 0 } configured && File.Exists(Path.Combine(configured, "dotnet")))
        {
            return configured;
        }

        // <root>/shared/Microsoft.NETCore.App/<version>/
        var runtime = new DirectoryInfo(RuntimeEnvironment.GetRuntimeDirectory().TrimEnd(Path.DirectorySeparatorChar));
        return runtime.Parent?.Parent?.Parent?.FullName ?? throw new InvalidOperationException("The .NET installation directory was not found.");
    }
}
