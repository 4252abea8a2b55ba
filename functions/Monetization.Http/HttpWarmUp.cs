using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Monetization.Http;

/// <summary>
/// One GET and one POST through a <see cref="SocketsHttpHandler"/> to a listener of this process's own on loopback,
/// answered with a canned 200: the HTTP client's connection, request and response code is loaded and compiled while the
/// function starts, beside other start-up work, instead of on the first real call. Nothing leaves the process.
/// </summary>
public static class HttpWarmUp
{
    private static readonly byte[] Answer = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");

    public static async Task RunAsync(CancellationToken cancellationToken)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serving = ServeAsync(listener, requests: 2, cancellationToken);
        using (var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/") })
        {
            using (var got = await http.GetAsync(new Uri("warm-up", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false))
            {
                _ = got.Headers.TryGetValues("warm-up", out _);
                _ = await got.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            }

            using var content = new ByteArrayContent("{}"u8.ToArray());
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using var posted = await http.PostAsync(new Uri("warm-up", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
            posted.EnsureSuccessStatusCode();
        }

        await serving.ConfigureAwait(false);
    }

    private static async Task ServeAsync(TcpListener listener, int requests, CancellationToken cancellationToken)
    {
        using var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
        var stream = client.GetStream();
        var buffer = new byte[4096];
        for (var served = 0; served < requests; served++)
        {
            // Headers end with an empty line; the POST's two-byte body follows in the same or the next read.
            var seen = new StringBuilder();
            while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return;
                }

                seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }

            var text = seen.ToString();
            if (text.StartsWith("POST", StringComparison.Ordinal) && text.EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                _ = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }

            await stream.WriteAsync(Answer, cancellationToken).ConfigureAwait(false);
        }
    }
}
