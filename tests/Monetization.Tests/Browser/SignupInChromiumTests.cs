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
    public async Task ASubscriberSeesTheKeyOncePaysOnTheCheckoutPageAndLosesAccessWhenTheSubscriptionIsCanceled()
    {
        using var browser = StartChromium();
        var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(20));
        portal.DeliverWebhooks(true);
        const string email = "browser-signup@example.com";

        browser.Navigate().GoToUrl(portal.Http.BaseAddress!);
        browser.FindElement(By.Id("email")).SendKeys(email);
        browser.FindElement(By.Id("firstname")).SendKeys("Grace");
        browser.FindElement(By.Id("lastname")).SendKeys("Hopper");
        browser.FindElement(By.CssSelector("#signup button[type=submit]")).Click();
        var keyValue = wait.Until(d => d.FindElements(By.Id("api-key")).FirstOrDefault(e => e.Displayed && e.Text.Length > 0))!.Text;
        var keyId = browser.FindElement(By.Id("api-key-id")).Text;
        Screenshot(browser, "1-key-shown-awaiting-payment");

        Assert.Contains("disabled until a payment method is set up", browser.FindElement(By.Id("activation-note")).Text, StringComparison.Ordinal);
        Assert.Equal(keyValue, (await portal.Environment.ApiKeysAsync(Ct)).Single(k => k.Id == keyId).Value);
        Assert.Equal((false, false), await portal.AccessAsync(keyId));

        browser.FindElement(By.Id("continue-to-payment")).Click();
        wait.Until(d => d.FindElements(By.Id("cardNumber")).Count > 0);
        browser.FindElement(By.Id("cardNumber")).SendKeys("4242 4242 4242 4242");
        browser.FindElement(By.Id("cardExpiry")).SendKeys("12 / 34");
        browser.FindElement(By.Id("cardCvc")).SendKeys("123");
        browser.FindElement(By.Id("billingName")).SendKeys("Grace Hopper");
        Screenshot(browser, "2-checkout-page");
        browser.FindElement(By.Id("submit")).Click();
        wait.Until(d => d.FindElements(By.Id("payment-complete")).Count > 0);
        Screenshot(browser, "3-payment-complete");

        Assert.StartsWith(new Uri(portal.Http.BaseAddress!, "checkout/return?session_id=cs_test_").ToString(), browser.Url, StringComparison.Ordinal);
        Assert.DoesNotContain(keyValue, browser.PageSource, StringComparison.Ordinal);
        await portal.WaitForAccessAsync(keyId, expected: true);

        // Signing up again with the same address never shows the key.
        browser.Navigate().GoToUrl(portal.Http.BaseAddress!);
        browser.FindElement(By.Id("email")).SendKeys(email);
        browser.FindElement(By.Id("firstname")).SendKeys("Grace");
        browser.FindElement(By.Id("lastname")).SendKeys("Hopper");
        browser.FindElement(By.CssSelector("#signup button[type=submit]")).Click();
        wait.Until(d => d.FindElement(By.Id("signup-message")).Text.Contains("already registered", StringComparison.Ordinal));
        Screenshot(browser, "4-second-signup-refused");
        Assert.DoesNotContain(keyValue, browser.PageSource, StringComparison.Ordinal);

        var subscriptionId = (await portal.RecordAsync(email))!.StripeSubscriptionId!;
        await portal.Stripe.SetSubscriptionStatusAsync(subscriptionId, "canceled", Ct);
        await portal.WaitForAccessAsync(keyId, expected: false, within: TimeSpan.FromSeconds(10));
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
}
