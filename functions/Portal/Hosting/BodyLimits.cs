using Microsoft.AspNetCore.Http.Features;

namespace Monetization.Portal.Hosting;

/// <summary>Endpoint metadata: the largest request body the endpoint accepts, read from the Portal's settings.</summary>
public sealed record BodyLimit(Func<PortalOptions, int> Bytes);

/// <summary>
/// Request body limits set on the endpoints themselves (<see cref="WithBodyLimit{TBuilder}"/>); every other request gets
/// <see cref="PortalOptions.MaxRequestBodyBytes"/>. One limit whatever the server: Kestrel locally, the Lambda adapter
/// in AWS, the test host in tests.
/// </summary>
public static class BodyLimits
{
    public static TBuilder WithBodyLimit<TBuilder>(this TBuilder builder, Func<PortalOptions, int> bytes)
        where TBuilder : IEndpointConventionBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(bytes);
        return builder.WithMetadata(new BodyLimit(bytes));
    }

    /// <summary>After routing, so the matched endpoint's limit applies.</summary>
    public static void UseBodyLimits(this WebApplication app, Lazy<PortalOptions> options) => app.Use(async (context, next) =>
    {
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<BodyLimit>()?.Bytes(options.Value) ?? options.Value.MaxRequestBodyBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit;
        }

        if (context.Request.ContentLength > limit)
        {
            // The body stays unread, so the server drops the connection afterwards; saying so keeps the client from
            // sending its next request on a connection that is about to close.
            context.Response.Headers.Connection = "close";
            await ErrorResponses.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "Request too large", "The request body is too large.");
            return;
        }

        await next(context);
    });
}
