using System.Text.RegularExpressions;

namespace Monetization.Preflight;

/// <summary>Values in printed commands are quoted only when a POSIX shell would otherwise split or expand them.</summary>
public static partial class Shell
{
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Plain().IsMatch(value) ? value : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    [GeneratedRegex("^[A-Za-z0-9_.,:/=@+-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Plain();
}
