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
