using System.Net;
using Monetization.Tests.Billing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Monetization.Tests.Browser;

/// <summary>
/// A person signing up in a real browser: Debian's Chromium, headless, driven through its chromedriver, against the
/// real Portal wired to moto and the Stripe emulator, paying on the emulator's hosted checkout page.
/// </summary>
public sealed class SignupInChromiumTests(CheckoutPortalFixture portal) : IClassFixture<CheckoutPortalFixture>
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string ChromedriverPath = "/usr/bin/chromedriver";
    public const string ScreenshotsVariable = "MONETIZATION_SCREENSHOTS";
    private const string InstallCommand = "apt-get update && apt-get install -y chromium chromium-driver";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Where screenshots go: <c>$MONETIZATION_SCREENSHOTS</c>, else <c>screenshots/</c> under the test output.</summary>
    public static string ScreenshotDirectory =>
        Environment.GetEnvironmentVariable(ScreenshotsVariable) is { Length: > 0 } configured
            ? configured
            : Path.Combine(AppContext.BaseDirectory, "screenshots");

    [Fact]
    public async Task APersonSignsInFromTheMailedLinkPaysSeesTheKeyOnceRotatesRevokesCancelsAndSubscribesAgain()
    {
        using var browser = StartChromium();
        var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(20));

        // An element read while the page it was found on is replaced (a form's redirect) is looked up again.
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException));
        portal.DeliverWebhooks(true);
        const string email = "browser-signup@example.com";

        browser.Navigate().GoToUrl(portal.Http.BaseAddress!);
        browser.FindElement(By.Id("email")).SendKeys(email);
        browser.FindElement(By.Id("firstname")).SendKeys("Grace");
        browser.FindElement(By.Id("lastname")).SendKeys("Hopper");
        Screenshot(browser, "1-signup");
        browser.FindElement(By.CssSelector("#signup button[type=submit]")).Click();
        wait.Until(d => d.FindElements(By.Id("sent-note")).Any(e => e.Displayed));
        Screenshot(browser, "2-check-your-inbox");
        Assert.Empty(await portal.KeysNamedFor(email));

        // The link from the mailbox opens a page that only asks to confirm; the confirm signs in.
        browser.Navigate().GoToUrl(portal.Mail.LinkFor(email));
        Screenshot(browser, "3-confirm-sign-in");
        browser.FindElement(By.Id("confirm-signin")).Click();
        wait.Until(d => d.FindElements(By.Id("account-heading")).Count > 0);
        Screenshot(browser, "4-account-not-subscribed");
        Assert.Equal("Not subscribed", browser.FindElement(By.Id("subscription-status")).Text);

        browser.FindElement(By.Id("subscribe")).Click();
        wait.Until(d => d.FindElements(By.Id("cardNumber")).Count > 0);
        browser.FindElement(By.Id("cardNumber")).SendKeys("4242 4242 4242 4242");
        browser.FindElement(By.Id("cardExpiry")).SendKeys("12 / 34");
        browser.FindElement(By.Id("cardCvc")).SendKeys("123");
        browser.FindElement(By.Id("billingName")).SendKeys("Grace Hopper");
        Screenshot(browser, "5-checkout-page");

        // The key is made off the person's request; held up here for a moment, so the page that waits for it shows.
        var slowImport = new Monetization.Emulators.Faults.FaultRule { Method = "POST", PathPrefix = "/apikeys", Kind = Monetization.Emulators.Faults.FaultKind.Latency, DelayMs = 1500, Count = 1 };
        portal.Environment.ApiGateway.Faults.Add(slowImport);
        browser.FindElement(By.Id("submit")).Click();
        wait.Until(d => d.FindElements(By.Id("api-key-activating")).Any(e => e.Displayed));
        Screenshot(browser, "6a-key-being-activated");
        browser.Manage().Window.Size = new System.Drawing.Size(375, 900);
        Screenshot(browser, "6a-key-being-activated-375px");
        browser.Manage().Window.Size = new System.Drawing.Size(1280, 1000);

        // Back on the account page, which reloads itself and shows the new key once.
        var keyValue = wait.Until(d => d.FindElements(By.Id("api-key")).FirstOrDefault(e => e.Displayed && e.Text.Length > 0))!.Text;
        var keyId = browser.FindElement(By.Id("api-key-id")).Text;
        Screenshot(browser, "6-key-shown-once");
        browser.Manage().Window.Size = new System.Drawing.Size(375, 900);
        Screenshot(browser, "6-key-shown-once-375px");
        Assert.True(browser.FindElement(By.Id("api-key")).Size.Width <= 375, "the key fits a phone's width");
        browser.Manage().Window.Size = new System.Drawing.Size(1280, 1000);
        Assert.Equal(new Uri(portal.Http.BaseAddress!, "account").ToString(), browser.Url);
        Assert.Equal(keyValue, (await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == keyId).Value);
        Assert.Equal(1, portal.Environment.ApiGateway.Faults.Hits(slowImport));
        await portal.WaitForAccessAsync(keyId, expected: true);

        // The curl the page shows works: three calls to the demo API, counted on the account page.
        var curl = browser.FindElement(By.Id("curl-example")).Text;
        var url = new Uri(curl[(curl.LastIndexOf(' ') + 1)..]);
        Assert.Equal(curl, $"curl -H \"x-api-key: {keyValue}\" {url}");
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await CallAsync(url, keyValue));
        }

        browser.Navigate().Refresh();
        wait.Until(d => d.FindElements(By.Id("api-key-hint")).Count > 0);
        Screenshot(browser, "7-key-hint-after-reload");
        Assert.DoesNotContain(keyValue, browser.PageSource, StringComparison.Ordinal);
        Assert.Equal("3", browser.FindElement(By.Id("usage-month")).Text);

        // A lost or leaked key: Rotate shows a new one once while the old one keeps working; Revoke now stops it.
        var oldKeyId = keyId;
        browser.FindElement(By.Id("rotate-key")).Click();
        var rotatedValue = wait.Until(d => d.FindElements(By.Id("api-key")).FirstOrDefault(e => e.Displayed && e.Text.Length > 0))!.Text;
        keyId = browser.FindElement(By.Id("api-key-id")).Text;
        Screenshot(browser, "7b-rotated");
        Assert.NotEqual(oldKeyId, keyId);
        Assert.NotEqual(keyValue, rotatedValue);
        await portal.WaitForAccessAsync(keyId, expected: true);
        await portal.WaitForAccessAsync(oldKeyId, expected: true);
        browser.Manage().Window.Size = new System.Drawing.Size(375, 900);
        Screenshot(browser, "7b-rotated-375px");
        browser.Manage().Window.Size = new System.Drawing.Size(1280, 1000);
        browser.FindElement(By.Id("revoke-" + oldKeyId)).Click();
        wait.Until(d => d.FindElements(By.CssSelector("#retired-keys .retired-state")).FirstOrDefault()?.Text == "stopped");
        Screenshot(browser, "7c-old-key-revoked");
        await portal.WaitForAccessAsync(oldKeyId, expected: false);
        await portal.WaitForAccessAsync(keyId, expected: true);
        Assert.Equal(HttpStatusCode.Forbidden, await UntilAsync(() => CallAsync(url, keyValue), HttpStatusCode.Forbidden));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(url, rotatedValue));

        browser.FindElement(By.Id("manage-billing")).Click();
        wait.Until(d => d.Url.Contains("/_emulator/billing_portal/", StringComparison.Ordinal));
        Screenshot(browser, "8-billing-portal");
        browser.FindElement(By.Id("return")).Click();
        wait.Until(d => d.FindElements(By.Id("account-heading")).Count > 0);

        browser.FindElement(By.Id("cancel-subscription")).Click();
        wait.Until(d => d.FindElement(By.Id("subscription-status")).Text == "Ending");
        Screenshot(browser, "9-ending");
        await portal.WaitForAccessAsync(keyId, expected: false);

        // The usage reporter bills the last usage and cancels the subscription; Stripe's webhook ends it here.
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        await portal.ReportUsageAsync(settleWindow: TimeSpan.Zero);
        browser.Navigate().Refresh();
        wait.Until(d => d.FindElement(By.Id("subscription-status")).Text == "Ended");
        Screenshot(browser, "10-ended");

        browser.FindElement(By.Id("subscribe")).Click();
        wait.Until(d => d.FindElements(By.Id("cardNumber")).Count > 0);
        browser.FindElement(By.Id("cardNumber")).SendKeys("4242 4242 4242 4242");
        browser.FindElement(By.Id("cardExpiry")).SendKeys("12 / 34");
        browser.FindElement(By.Id("cardCvc")).SendKeys("123");
        browser.FindElement(By.Id("billingName")).SendKeys("Grace Hopper");
        browser.FindElement(By.Id("submit")).Click();
        wait.Until(d => d.FindElements(By.Id("subscription-status")).FirstOrDefault()?.Text == "Active");
        Screenshot(browser, "11-subscribed-again");
        await portal.WaitForAccessAsync(keyId, expected: true);

        browser.FindElement(By.Id("sign-out")).Click();
        wait.Until(d => d.FindElements(By.Id("signup")).Count > 0);
        browser.Navigate().GoToUrl(new Uri(portal.Http.BaseAddress!, "account"));
        wait.Until(d => d.FindElements(By.Id("signup")).Count > 0);
        Screenshot(browser, "12-signed-out");
    }

    /// <summary>The system browser only: a missing one fails with the install command, never skips and never downloads one.</summary>
    private static ChromeDriver StartChromium()
    {
        if (!File.Exists(ChromiumPath) || !File.Exists(ChromedriverPath))
        {
            Assert.Fail($"Chromium and its driver are needed at {ChromiumPath} and {ChromedriverPath}; install them with: {InstallCommand}");
        }

        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
            $"--user-data-dir={Directory.CreateTempSubdirectory("monetization-chromium-").FullName}");
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ChromedriverPath)!, Path.GetFileName(ChromedriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    private static void Screenshot(ChromeDriver browser, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        browser.GetScreenshot().SaveAsFile(Path.Combine(ScreenshotDirectory, $"signup-{name}.png"));
    }

    /// <summary>
    /// The answer once it is <paramref name="expected"/>, or the last one after five seconds: API Gateway (and its
    /// stand-in, which re-reads keys every second) takes a moment to stop a disabled key.
    /// </summary>
    private static async Task<HttpStatusCode> UntilAsync(Func<Task<HttpStatusCode>> call, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        var status = await call();
        while (status != expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
            status = await call();
        }

        return status;
    }

    /// <summary>One request to the API with the key, as the page's curl sends it.</summary>
    private static async Task<HttpStatusCode> CallAsync(Uri url, string keyValue)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("x-api-key", keyValue);
        using var response = await http.SendAsync(request, Ct);
        return response.StatusCode;
    }
}
