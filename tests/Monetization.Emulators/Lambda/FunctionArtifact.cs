using System.Diagnostics;

namespace Monetization.Emulators.Lambda;

/// <summary>
/// A function as it is deployed: the Makefile target <c>sam build</c> runs (<c>make build-&lt;LogicalId&gt;
/// ARTIFACTS_DIR=...</c>), published into a directory owned by root and read-only to everyone, like Lambda's
/// <c>/var/task</c>.
/// </summary>
/// <remarks>
/// CI runs the same Makefile targets before the tests and names their output in <see cref="BuiltArtifactsVariable"/>
/// (one directory per logical id); then this repository's artifacts are copied from there rather than published a
/// second time from the same sources.
/// </remarks>
public sealed class FunctionArtifact : IDisposable
{
    /// <summary>A directory holding <c>&lt;LogicalId&gt;/</c>, the output of <c>make build-&lt;LogicalId&gt;</c> for this checkout.</summary>
    public const string BuiltArtifactsVariable = "MONETIZATION_BUILT_ARTIFACTS";

    private FunctionArtifact(string directory, string logicalId)
    {
        TaskRoot = directory;
        LogicalId = logicalId;
    }

    public string TaskRoot { get; }

    public string LogicalId { get; }

    public static Task<FunctionArtifact> PublishAsync(string logicalId, CancellationToken cancellationToken = default) =>
        PublishAsync(logicalId, Repository.Root, cancellationToken);

    /// <param name="repositoryRoot">The checkout whose Makefile builds the artifact (another one to compare with, say).</param>
    public static async Task<FunctionArtifact> PublishAsync(string logicalId, string repositoryRoot, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(logicalId);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Lambda's x86_64 functions run on Linux; so do the tests that start them.");
        }

        var parent = Directory.CreateTempSubdirectory("monetization-task-");
        // The function's user must reach the task root; CreateTempSubdirectory makes it 0700.
        File.SetUnixFileMode(parent.FullName, ReadOnlyDirectory);
        var taskRoot = Path.Combine(parent.FullName, "task");
        if (repositoryRoot == Repository.Root
            && Environment.GetEnvironmentVariable(BuiltArtifactsVariable) is { Length: > 0 } built
            && Directory.Exists(Path.Combine(built, logicalId)))
        {
            CopyDirectory(new DirectoryInfo(Path.Combine(built, logicalId)), taskRoot);
            MakeReadOnly(new DirectoryInfo(taskRoot));
            return new FunctionArtifact(taskRoot, logicalId);
        }

        var start = new ProcessStartInfo("make")
        {
            WorkingDirectory = repositoryRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList = { "--no-print-directory", $"build-{logicalId}", $"ARTIFACTS_DIR={taskRoot}" },
        };
        string output;
        int exitCode;
        try
        {
            using var make = Process.Start(start) ?? throw new InvalidOperationException("make did not start.");
            var stdout = make.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = make.StandardError.ReadToEndAsync(cancellationToken);
            await make.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            output = await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false);
            exitCode = make.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Directory.Delete(parent.FullName, recursive: true);
            throw new InvalidOperationException("make is missing: apt-get install make", e);
        }

        if (exitCode != 0)
        {
            Directory.Delete(parent.FullName, recursive: true);
            throw new InvalidOperationException($"make build-{logicalId} failed ({exitCode}):\n{output}");
        }

        MakeReadOnly(new DirectoryInfo(taskRoot));
        return new FunctionArtifact(taskRoot, logicalId);
    }

    /// <summary>Deletes the artifact (root may delete in read-only directories).</summary>
    public void Dispose()
    {
        var parent = Path.GetDirectoryName(TaskRoot)!;
        if (Directory.Exists(parent))
        {
            Directory.Delete(parent, recursive: true);
        }
    }

    private const UnixFileMode ReadOnlyDirectory =
        UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private const UnixFileMode WriteBits = UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    // File.Copy keeps the Unix permission bits, so the apphost stays executable.
    private static void CopyDirectory(DirectoryInfo source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var file in source.EnumerateFiles())
        {
            file.CopyTo(Path.Combine(destination, file.Name));
        }

        foreach (var sub in source.EnumerateDirectories())
        {
            CopyDirectory(sub, Path.Combine(destination, sub.Name));
        }
    }

    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static void MakeReadOnly(DirectoryInfo directory)
    {
        foreach (var file in directory.EnumerateFiles("*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(file.FullName, (file.UnixFileMode & ~WriteBits) | UnixFileMode.OtherRead | UnixFileMode.GroupRead);
        }

        foreach (var sub in directory.EnumerateDirectories("*", SearchOption.AllDirectories).Append(directory))
        {
            File.SetUnixFileMode(sub.FullName, ReadOnlyDirectory);
        }
    }
}

/// <summary>The repository this code was built from: where the Makefile and template.yaml are.</summary>
public static class Repository
{
    public static string Root { get; } = Find();

    public static string TemplatePath => Path.Combine(Root, "template.yaml");

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Monetization.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Monetization.sln was not found above " + AppContext.BaseDirectory);
    }
}
