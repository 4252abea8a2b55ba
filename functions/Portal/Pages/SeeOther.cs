namespace Monetization.Portal.Pages;

/// <summary>
/// 303 See Other: the answer to a form post that did something, so the browser shows the result by GET and a reload
/// repeats nothing (post, redirect, get).
/// </summary>
public sealed class SeeOther : IResult
{
    private readonly string _location;

    private SeeOther(string location) => _location = location;

    /// <param name="location">A path of this Portal, or a URL of a service the flow sends the customer to (Stripe).</param>
    public static SeeOther To(string location)
    {
        ArgumentException.ThrowIfNullOrEmpty(location);
        return new SeeOther(location);
    }

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        httpContext.Response.StatusCode = StatusCodes.Status303SeeOther;
        httpContext.Response.Headers.Location = _location;
        return Task.CompletedTask;
    }
}
