using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace Monetization.Tests.Accounts;

/// <summary>
/// One person's browser on the Portal: it keeps its cookies, follows no redirect by itself (tests look at each), and
/// presses the account page's buttons the way a form post without JavaScript does.
/// </summary>
public sealed partial class AccountBrowser : IDisposable
{
    private readonly HttpClientHandler? _handler;

    public AccountBrowser(Uri portal)
    {
        _handler = new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false };
        Http = new HttpClient(_handler) { BaseAddress = portal, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <param name="http">A client that keeps cookies and follows no redirect itself (a test server's client, say).</param>
    public AccountBrowser(HttpClient http) => Http = http;

    public HttpClient Http { get; }

    public CookieContainer Cookies => _handler?.CookieContainer ?? throw new InvalidOperationException("This browser's cookies are kept by its client.");

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    public Task<HttpResponseMessage> RequestLinkAsync(string email, string firstName = "Ada", string lastName = "Lovelace") =>
        Http.PostAsJsonAsync("/register", new { email, firstname = firstName, lastname = lastName }, Cancel);

    /// <summary>Opens the link and presses its confirm button; the answer to the confirm.</summary>
    public async Task<HttpResponseMessage> ConfirmAsync(Uri link)
    {
        ArgumentNullException.ThrowIfNull(link);
        using var page = await Http.GetAsync(link, Cancel);
        var html = await page.Content.ReadAsStringAsync(Cancel);
        Assert.True(page.StatusCode == HttpStatusCode.OK, $"{page.StatusCode}: {html}");
        return await PostFormAsync("/signin", html, ("token", HiddenToken().Match(html).Groups[1].Value));
    }

    /// <summary>The account page, which must answer 200.</summary>
    public async Task<string> AccountPageAsync()
    {
        using var response = await Http.GetAsync("/account", Cancel);
        var html = await response.Content.ReadAsStringAsync(Cancel);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/account answered {response.StatusCode} ({response.Headers.Location}): {html}");
        return html;
    }

    /// <summary>
    /// The account page as a person sees it once access started: it says the key is being activated and reloads itself
    /// until the key minting queue's consumer made it; then it shows the key once. The page that stopped saying so.
    /// </summary>
    public async Task<string> AccountPageOnceKeyIsMadeAsync(TimeSpan? within = null)
    {
        var deadline = DateTimeOffset.UtcNow + (within ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var html = await AccountPageAsync();
            if (!html.Contains("id=\"api-key-activating\"", StringComparison.Ordinal))
            {
                return html;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, "The account page still says the key is being activated.");
            Assert.Contains("http-equiv=\"refresh\"", html, StringComparison.Ordinal);
            await Task.Delay(100, Cancel);
        }
    }

    /// <summary>The key the account page shows once it is made (see <see cref="AccountPageOnceKeyIsMadeAsync"/>).</summary>
    public async Task<(string Id, string Value)?> KeyOnceMintedAsync(TimeSpan? within = null) => KeyShownOn(await AccountPageOnceKeyIsMadeAsync(within));

    /// <summary>Presses the button that posts to <paramref name="action"/> on the account page just loaded.</summary>
    public async Task<HttpResponseMessage> PressAsync(string action)
    {
        var html = await AccountPageAsync();
        Assert.Contains($"action=\"{action}\"", html, StringComparison.Ordinal);
        return await PostFormAsync(action, html);
    }

    /// <summary>A form post carrying the form guard field of <paramref name="html"/>, as the browser would send it.</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string action, string html, params (string Name, string Value)[] fields)
    {
        var guard = Guard().Match(html);
        Assert.True(guard.Success, "The page carries no form guard field.");
        using var content = new FormUrlEncodedContent([new("__antiforgery", WebUtility.HtmlDecode(guard.Groups[1].Value)), .. fields.Select(f => new KeyValuePair<string, string>(f.Name, WebUtility.HtmlDecode(f.Value)))]);
        return await Http.PostAsync(action, content, Cancel);
    }

    /// <summary>The key shown on the page (the one view that shows it), or null.</summary>
    public static (string Id, string Value)? KeyShownOn(string html)
    {
        var value = KeyValue().Match(html);
        var id = KeyId().Match(html);
        return value.Success && id.Success ? (WebUtility.HtmlDecode(id.Groups[1].Value), WebUtility.HtmlDecode(value.Groups[1].Value)) : null;
    }

    public static string StatusOn(string html) => WebUtility.HtmlDecode(Status().Match(html).Groups[1].Value);

    public void Dispose()
    {
        Http.Dispose();
        _handler?.Dispose();
    }

    [GeneratedRegex("name=\"__antiforgery\" value=\"([^\"]+)\"")]
    private static partial Regex Guard();

    [GeneratedRegex("name=\"token\" value=\"([^\"]+)\"")]
    private static partial Regex HiddenToken();

    [GeneratedRegex("<code id=\"api-key\"[^>]*>([^<]+)</code>")]
    private static partial Regex KeyValue();

    [GeneratedRegex("<code id=\"api-key-id\">([^<]+)</code>")]
    private static partial Regex KeyId();

    [GeneratedRegex("<strong id=\"subscription-status\">([^<]+)</strong>")]
    private static partial Regex Status();
}
