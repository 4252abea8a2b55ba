using System.Text;
using Monetization.Core;

namespace Monetization.Aws.Http;

/// <summary>The one place typed clients send through: builds the URL, sends, and turns refusals into <see cref="AwsServiceException"/>.</summary>
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
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            throw await AwsErrors.ToExceptionAsync(response, service, operation, secrets, cancellationToken);
        }
    }
}
