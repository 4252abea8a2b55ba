using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Monetization.Portal.Hosting;

/// <summary>
/// The security headers on the answers Kestrel writes itself, without running the pipeline: a request line too long
/// (414), request headers too large or too many (431), a malformed request (400), and its other refusals (a request
/// whose headers arrived too slowly, a body over the limit while it is read).
/// </summary>
/// <remarks>
/// Kestrel offers no hook that shapes those answers: it clears every response header just before it writes one. It
/// does announce each refusal first, on the <c>Microsoft.AspNetCore.Server.Kestrel.BadRequest</c> diagnostic event,
/// whose payload is the request's features (connection features included). So a connection middleware keeps an eye
/// on each HTTP/1.x connection's output, the event tells it that the next answer is Kestrel's refusal, and that one
/// answer gets the header lines added before the blank line that ends its header block. The limits stay Kestrel's own,
/// with their values and statuses, and the refused request never reaches the pipeline.
/// </remarks>
public static class ServerRejections
{
    public const string BadRequestEvent = "Microsoft.AspNetCore.Server.Kestrel.BadRequest";

    /// <summary>Watches every endpoint Kestrel listens on.</summary>
    public static void WatchConnections(KestrelServerOptions kestrel)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        kestrel.ConfigureEndpointDefaults(listen => listen.Use(next => connection =>
        {
            var output = new RejectionAwareWriter(connection.Transport.Output, connection.Features.Get<ITlsConnectionFeature>() is not null);
            connection.Features.Set(output);
            connection.Transport = new Pipe(connection.Transport.Input, output);
            return next(connection);
        }));
    }

    /// <summary>Listens for Kestrel's refusals for as long as the host lives.</summary>
    public static void ListenForRejections(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var listener = services.GetRequiredService<DiagnosticListener>();
        var subscription = listener.Subscribe(new RejectionObserver(), static name => name == BadRequestEvent);
        services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopped.Register(subscription.Dispose);
    }

    private sealed class RejectionObserver : IObserver<KeyValuePair<string, object?>>
    {
        public void OnNext(KeyValuePair<string, object?> value)
        {
            if (value.Key != BadRequestEvent || value.Value is not IFeatureCollection features)
            {
                return;
            }

            // HTTP/2 and HTTP/3 refuse a stream in frames, never in an HTTP/1.x header block; an answer the application
            // started is already on its way, and Kestrel only closes the connection after it.
            var protocol = features.Get<IHttpRequestFeature>()?.Protocol;
            if (HttpProtocol.IsHttp2(protocol ?? string.Empty) || HttpProtocol.IsHttp3(protocol ?? string.Empty)
                || features.Get<IHttpResponseFeature>() is not { HasStarted: false })
            {
                return;
            }

            features.Get<RejectionAwareWriter>()?.HoldNextAnswer();
        }

        public void OnError(Exception error)
        {
        }

        public void OnCompleted()
        {
        }
    }

    private sealed class Pipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    /// <summary>
    /// Passes the connection's output through untouched, except the one answer it was told to hold: that one is kept
    /// until Kestrel flushes it, then sent with the security headers it lacks.
    /// </summary>
    private sealed class RejectionAwareWriter(PipeWriter inner, bool https) : PipeWriter
    {
        private static readonly byte[] EndOfHeaders = "\r\n\r\n"u8.ToArray();
        private static readonly byte[] PolicyHeader = "\r\ncontent-security-policy:"u8.ToArray();

        private ArrayBufferWriter<byte>? _held;

        public void HoldNextAnswer() => _held ??= new ArrayBufferWriter<byte>();

        public override void Advance(int bytes)
        {
            if (_held is { } held)
            {
                held.Advance(bytes);
            }
            else
            {
                inner.Advance(bytes);
            }
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => _held is { } held ? held.GetMemory(sizeHint) : inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => _held is { } held ? held.GetSpan(sizeHint) : inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        // Kestrel asks while System.Text.Json writes an answer, to decide when to flush.
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes + (_held?.WrittenCount ?? 0);

        public override void Complete(Exception? exception = null)
        {
            Release(final: true);
            inner.Complete(exception);
        }

        public override ValueTask CompleteAsync(Exception? exception = null)
        {
            Release(final: true);
            return inner.CompleteAsync(exception);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Release(final: false);
            return inner.FlushAsync(cancellationToken);
        }

        private void Release(bool final)
        {
            if (_held is not { } held)
            {
                return;
            }

            var bytes = held.WrittenSpan;
            var end = bytes.IndexOf(EndOfHeaders);
            if (end < 0 && !final)
            {
                return;
            }

            _held = null;
            if (end < 0)
            {
                inner.Write(bytes);
                return;
            }

            inner.Write(bytes[..end]);
            if (!ContainsIgnoringCase(bytes[..(end + 2)], PolicyHeader))
            {
                foreach (var (name, value) in SecurityHeaders.For(https))
                {
                    inner.Write(Encoding.ASCII.GetBytes($"\r\n{name}: {value}"));
                }

                inner.Write("\r\nCache-Control: no-store"u8);
            }

            inner.Write(bytes[end..]);
        }

        private static bool ContainsIgnoringCase(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> lowerNeedle)
        {
            for (var i = 0; i + lowerNeedle.Length <= haystack.Length; i++)
            {
                var match = true;
                for (var j = 0; j < lowerNeedle.Length && match; j++)
                {
                    var b = haystack[i + j];
                    match = (b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b) == lowerNeedle[j];
                }

                if (match)
                {
                    return true;
                }
            }

            return false;
        }
    }
}
