namespace Monetization.Portal.Pages;

/// <summary>
/// Reading a posted form as the sender's input: a body that cannot be decoded (a NUL byte, broken percent-encoding,
/// a broken multipart body) and a field sent twice or carrying bytes that were not UTF-8 are the sender's mistakes,
/// answered as such, never as a server fault.
/// </summary>
public static class FormInput
{
    /// <returns>The form, or null when its body cannot be decoded.</returns>
    public static async Task<IFormCollection?> TryReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            if (IsUrlEncoded(request) && !await PercentDecodesToUtf8Async(request, cancellationToken))
            {
                return null;
            }

            return await request.ReadFormAsync(cancellationToken);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        catch (IOException)
        {
            // A multipart body that ends before its boundary says it does.
            return null;
        }
    }

    private static bool IsUrlEncoded(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Whether the body's percent-escapes decode to UTF-8. The form reader leaves an escape that does not (<c>%FF%FE</c>)
    /// as its literal text, so such a field would otherwise be taken, and stored, as the characters <c>%FF%FE</c>.
    /// The body stays readable for the form reader; its size is bounded before endpoints run.
    /// </summary>
    private static async Task<bool> PercentDecodesToUtf8Async(HttpRequest request, CancellationToken cancellationToken)
    {
        request.EnableBuffering();
        using var raw = new MemoryStream();
        await request.Body.CopyToAsync(raw, cancellationToken);
        request.Body.Position = 0;
        var body = raw.GetBuffer().AsSpan(0, (int)raw.Length);
        var decoded = new byte[body.Length];
        var length = 0;
        for (var i = 0; i < body.Length; i++)
        {
            // '&', '=' and '+' are ASCII, so decoding the whole body at once judges every field.
            decoded[length++] = body[i] == (byte)'%' && i + 2 < body.Length && IsHex(body[i + 1]) && IsHex(body[i + 2])
                ? (byte)((HexValue(body[++i]) << 4) | HexValue(body[++i]))
                : body[i];
        }

        return System.Text.Unicode.Utf8.IsValid(decoded.AsSpan(0, length));
    }

    private static bool IsHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static int HexValue(byte b) => b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10;

    /// <summary>The one value of <paramref name="name"/>, or why it is not usable.</summary>
    /// <returns>Null when the field is usable (absent counts as empty); otherwise the problem, for the field's error.</returns>
    public static string? Problem(IFormCollection form, string name, out string? value)
    {
        ArgumentNullException.ThrowIfNull(form);
        var values = form[name];
        value = values.Count == 0 ? null : values[0];
        if (values.Count > 1)
        {
            value = null;
            return "This field was sent more than once.";
        }

        // The decoder puts U+FFFD where the bytes were not UTF-8; no name or address contains it.
        if (value is not null && value.Contains('\uFFFD', StringComparison.Ordinal))
        {
            value = null;
            return "This field contains characters that could not be read.";
        }

        return null;
    }
}
