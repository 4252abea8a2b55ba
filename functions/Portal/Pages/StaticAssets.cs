using System.Reflection;

namespace Monetization.Portal.Pages;

/// <summary>
/// The page's script and stylesheet, compiled into the assembly so they are served the same way on Lambda, in the
/// sandbox and in tests, whatever the working directory.
/// </summary>
public static class StaticAssets
{
    public static IEndpointRouteBuilder MapStaticAssets(this IEndpointRouteBuilder app)
    {
        Map(app, "/app.js", "text/javascript; charset=utf-8");
        Map(app, "/site.css", "text/css; charset=utf-8");
        return app;
    }

    private static void Map(IEndpointRouteBuilder app, string path, string contentType)
    {
        var content = Read(path.TrimStart('/'));
        app.MapGet(path, (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "public, max-age=300";
            return TypedResults.Text(content, contentType);
        });
    }

    private static string Read(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The asset {name} is not embedded in the Portal assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
