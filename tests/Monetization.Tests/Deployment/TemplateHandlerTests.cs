using System.Text.RegularExpressions;
using Monetization.Portal.Hosting;
using Monetization.SubscriptionEvents;

namespace Monetization.Tests.Deployment;

/// <summary>The handlers template.yaml names must be the entry points the code has: a typo here only shows in AWS.</summary>
public sealed partial class TemplateHandlerTests
{
    private static readonly string Template = File.ReadAllText(Path.Combine(RepositoryRoot(), "template.yaml"));

    [Fact]
    public void PortalHandlerIsThePortalsExecutableName()
    {
        Assert.Equal(typeof(PortalApp).Assembly.GetName().Name, HandlerOf("PortalFunction"));
    }

    [Fact]
    public void SubscriptionEventsHandlerIsAnExecutableAssemblyTheManagedRuntimeExecs()
    {
        // Without `::` the managed runtime runs `dotnet exec <Handler>.dll`; with it, it would load the assembly
        // through Amazon.Lambda.RuntimeSupport, which needs packages this function does not (and cannot) reference.
        var assembly = typeof(Function).Assembly;

        Assert.Equal(assembly.GetName().Name, HandlerOf("SubscriptionEventsFunction"));
        var entryPoint = assembly.EntryPoint;
        Assert.NotNull(entryPoint);
        Assert.Equal(typeof(Monetization.SubscriptionEvents.Program), entryPoint.DeclaringType);
    }

    private static string HandlerOf(string logicalId)
    {
        var start = Template.IndexOf($"\n  {logicalId}:\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"{logicalId} is not in template.yaml");
        var match = HandlerLine().Match(Template, start);
        Assert.True(match.Success, $"{logicalId} has no Handler");
        return match.Groups[1].Value.Trim();
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Monetization.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Monetization.sln was not found above the test assembly.");
    }

    [GeneratedRegex(@"\n      Handler: ([^\n]+)")]
    private static partial Regex HandlerLine();
}
