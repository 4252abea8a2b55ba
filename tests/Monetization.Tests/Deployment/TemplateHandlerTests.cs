using System.Reflection;
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
    public void SubscriptionEventsHandlerNamesAPublicStreamMethodWithOneOverload()
    {
        var parts = HandlerOf("SubscriptionEventsFunction").Split("::");

        Assert.Equal(3, parts.Length);
        Assert.Equal(typeof(Function).Assembly.GetName().Name, parts[0]);
        var type = typeof(Function).Assembly.GetType(parts[1]);
        Assert.NotNull(type);
        Assert.NotNull(type.GetConstructor(Type.EmptyTypes));
        var method = Assert.Single(type.GetMethods(BindingFlags.Public | BindingFlags.Instance), m => m.Name == parts[2]);
        Assert.Equal(typeof(Task<Stream>), method.ReturnType);
        Assert.Equal([typeof(Stream)], method.GetParameters().Select(p => p.ParameterType));
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
