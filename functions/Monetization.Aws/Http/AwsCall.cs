using System.Text;
using Monetization.Core;

namespace Monetization.Aws.Http;

/// <summary>
/// The one place typed clients send through: builds the URL, sends, and reports what came back in the project's one
/// failure policy. A service that did not answer usably after the retries (throttled, 5xx, timed out, unreachable) is
/// a <see cref="DependencyUnavailableException"/>; a refusal of the request itself is an <see cref="AwsServiceException"/>.
/// </summary>
internal static class AwsCall
{
    /// <summary>Path segments must already be escaped with <see cref="Segment"/>; query values are escaped here.</summary>
    public static Uri Url(HttpClient http, string path, IEnumerable<(string Name, string? Value)>? query = null)
    {
        var baseAddress = http.BaseAddress ?? throw new InvalidOperationException("The AWS HttpClient has no BaseAddress.");
        var url = new StringBuilder(baseAddress.GetLeftPart(UriPartial.Authority))
            .Append(baseAddress.AbsolutePath.TrimEnd('/'))
            .Append(path);
        var separator = '?';
        foreach (var (name, value) in query ?? [])
        {
            if (value is null)
            {
                continue;
            }

            url.Append(separator).Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }

        return new Uri(url.ToString(), UriKind.Absolute);
    }

    public static string Segment(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        return Uri.EscapeDataString(value);
    }

    public static async Task<HttpResponseMessage> SendAsync(
        HttpClient http, HttpRequestMessage request, string service, string operation, IReadOnlyList<Secret>? secrets, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        }
        catch (Exception e) when (IsUnanswered(e, cancellationToken))
        {
            throw new DependencyUnavailableException(service, operation, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var refusal = await AwsErrors.ToExceptionAsync(response, service, operation, secrets, cancellationToken);
            throw refusal.IsRetryable ? new DependencyUnavailableException(service, operation, refusal) : refusal;
        }
    }

    /// <summary>No answer at all: the network failed, or an attempt or the request's time budget ran out. The caller
    /// giving up is not the service's fault and stays a cancellation.</summary>
    private static bool IsUnanswered(Exception e, CancellationToken cancellationToken) => e switch
    {
        HttpRequestException => true,
        Polly.Timeout.TimeoutRejectedException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };
}
