using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Monetization.Lambda;

/// <summary>The host every event function builds: the same builder, configuration and logs for each.</summary>
public static class LambdaHost
{
    /// <summary>
    /// An empty <see cref="HostApplicationBuilder"/> (no appsettings files, file watchers or default providers: a Lambda
    /// function's settings are its environment) with the environment as configuration and JSON console logs whose
    /// scopes carry each invocation's request and trace ids.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder()
    {
        var builder = Host.CreateEmptyApplicationBuilder(settings: null);
        builder.Configuration.AddEnvironmentVariables();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        return builder;
    }
}
