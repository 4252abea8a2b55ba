using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Monetization.Aws;
using Monetization.Emulators;
using Monetization.Emulators.Moto;
using Monetization.Sandbox;
using Monetization.Tests.Aws;

namespace Monetization.Tests.Sandbox;

/// <summary>The offline sandbox as the README tells a new user to start it, and the ways its command line goes wrong.</summary>
public sealed partial class SandboxTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ABusyPortGivesOneClearLineAndStartsNothing()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await SandboxProgram.RunAsync(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], output, error, Ct);

        Assert.Equal(2, exit);
        Assert.Empty(output.ToString());
        var line = Assert.Single(error.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Port {port} is already in use", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--port")]
    [InlineData("--port", "http")]
    [InlineData("--port", "70000")]
    public async Task APortThatIsNotAPortNumberIsRefusedInOneLine(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await SandboxProgram.RunAsync(args, output, error, Ct);

        Assert.Equal(2, exit);
        Assert.Equal("--port takes a TCP port number from 1 to 65535.", error.ToString().Trim());
    }

    [Fact]
    public async Task ThePrintedAwsEndpointServesGetUsageAndTheDemoApiShowsThePlansThrottle()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var output = new LineWriter();
        using var error = new StringWriter();
        var running = SandboxProgram.RunAsync([], output, error, stop.Token);
        try
        {
            var printed = await output.WaitForAsync("Press Ctrl+C to stop.", running, Ct);
            var aws = new Uri(Printed(printed, "AWS endpoint"));
            var demo = new Uri(PrintedUrl().Match(Printed(printed, "Demo API")).Value);
            using var apiGateway = AwsTestClients.Http(AwsService.ApiGateway, AwsTestClients.Options(aws, OfflineEnvironment.LocalCredentials));

            using var plans = JsonDocument.Parse(await apiGateway.GetStringAsync(new Uri(aws, "/usageplans"), Ct));
            var stripePlan = plans.RootElement.GetProperty("item").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "monetization-stripe");
            Assert.Equal(SandboxProgram.ThrottleBurst, stripePlan.GetProperty("throttle").GetProperty("burstLimit").GetInt32());
            Assert.Equal(SandboxProgram.DailyQuota, stripePlan.GetProperty("quota").GetProperty("limit").GetInt64());
            var planId = stripePlan.GetProperty("id").GetString()!;

            using var keyAnswer = await apiGateway.PostAsync(new Uri(aws, "/apikeys"), Json("""{"name":"sandbox-test","enabled":true}"""), Ct);
            using var key = JsonDocument.Parse(await keyAnswer.Content.ReadAsStringAsync(Ct));
            var keyId = key.RootElement.GetProperty("id").GetString()!;
            using var member = await apiGateway.PostAsync(new Uri(aws, $"/usageplans/{planId}/keys"), Json($$"""{"keyId":"{{keyId}}","keyType":"API_KEY"}"""), Ct);
            Assert.Equal(HttpStatusCode.Created, member.StatusCode);

            using var caller = new HttpClient();
            var statuses = new List<HttpStatusCode>();
            var deadline = DateTimeOffset.UtcNow.AddSeconds(20);
            while (!statuses.Contains(HttpStatusCode.TooManyRequests) && DateTimeOffset.UtcNow < deadline)
            {
                // The key reaches the stand-in within its one-second snapshot; then the burst runs out.
                var calls = Enumerable.Range(0, SandboxProgram.ThrottleBurst * 3).Select(async _ =>
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(demo, "hello"));
                    request.Headers.Add("x-api-key", key.RootElement.GetProperty("value").GetString());
                    using var answer = await caller.SendAsync(request, Ct);
                    return answer.StatusCode;
                });
                statuses.AddRange(await Task.WhenAll(calls));
            }

            Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
            var served = statuses.Count(s => s == HttpStatusCode.OK);
            Assert.True(served > 0, string.Join(", ", statuses));
            var today = DateTime.UtcNow.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            using var usage = JsonDocument.Parse(await apiGateway.GetStringAsync(new Uri(aws, $"/usageplans/{planId}/usage?startDate={today}&endDate={today}&keyId={keyId}"), Ct));
            Assert.Equal(served, usage.RootElement.GetProperty("values").GetProperty(keyId)[0][0].GetInt64());
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await running);
        }
    }

    [Fact]
    public async Task ThePrintedMailboxListsTheMailSesAcceptedNewestFirstEscapedWithItsLinksClickable()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var output = new LineWriter();
        using var error = new StringWriter();
        var running = SandboxProgram.RunAsync([], output, error, stop.Token);
        try
        {
            var printed = await output.WaitForAsync("Press Ctrl+C to stop.", running, Ct);
            var aws = new Uri(Printed(printed, "AWS endpoint"));
            var mailbox = new Uri(Printed(printed, "Mailbox"));
            using var web = new HttpClient();
            using (var empty = JsonDocument.Parse(await web.GetStringAsync(new Uri(mailbox, "messages.json"), Ct)))
            {
                Assert.Equal(0, empty.RootElement.GetProperty("messages").GetArrayLength());
            }

            // As a person would with the AWS CLI against the printed endpoint; the Portal's own mail goes the same way.
            using var ses = AwsTestClients.Http(AwsService.Ses, AwsTestClients.Options(aws, OfflineEnvironment.LocalCredentials));
            var first = await SendAsync(ses, "first@example.org", "First", "Hello.");
            var second = await SendAsync(ses, "ada@example.org", "<b>Sign in</b> & go", "Your link: http://127.0.0.1:9/signin?token=t0k3n.\nIt works once.");

            using var json = JsonDocument.Parse(await web.GetStringAsync(new Uri(mailbox, "messages.json"), Ct));
            var messages = json.RootElement.GetProperty("messages").EnumerateArray().ToList();
            Assert.Equal([second, first], messages.Select(m => m.GetProperty("messageId").GetString()));
            Assert.Equal("ada@example.org", messages[0].GetProperty("to")[0].GetString());
            Assert.Equal("<b>Sign in</b> & go", messages[0].GetProperty("subject").GetString());
            Assert.Equal("Your link: http://127.0.0.1:9/signin?token=t0k3n.\nIt works once.", messages[0].GetProperty("text").GetString());
            Assert.Equal(OfflineEnvironment.EmailFromAddress, messages[0].GetProperty("from").GetString());
            Assert.Equal([second, first], (await MotoMailbox.ReadAsync(aws, Ct)).Select(m => m.MessageId));

            using var page = await web.GetAsync(mailbox, Ct);
            var html = await page.Content.ReadAsStringAsync(Ct);
            Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
            var policy = string.Join(' ', page.Headers.GetValues("Content-Security-Policy"));
            Assert.Contains("default-src 'none'", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("unsafe-inline", policy, StringComparison.Ordinal);
            Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("<h2>&lt;b&gt;Sign in&lt;/b&gt; &amp; go</h2>", html, StringComparison.Ordinal);
            Assert.Contains("<a href=\"http://127.0.0.1:9/signin?token=t0k3n\">http://127.0.0.1:9/signin?token=t0k3n</a>.", html, StringComparison.Ordinal);
            Assert.True(html.IndexOf(second, StringComparison.Ordinal) < html.IndexOf(first, StringComparison.Ordinal));
            Assert.Contains("<dd>ada@example.org</dd>", html, StringComparison.Ordinal);
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await running);
        }
    }

    [Fact]
    public async Task WithApiGatewayQuotasAKeyFloodIsThrottledAndTheControlReconcilesAClosedDay()
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var output = new LineWriter();
        using var error = new StringWriter();
        var running = SandboxProgram.RunAsync(["--api-gateway-quotas"], output, error, stop.Token);
        try
        {
            var printed = await output.WaitForAsync("Press Ctrl+C to stop.", running, Ct);
            Assert.Contains(printed, l => l.StartsWith("API Gateway control-plane quotas: enforced", StringComparison.Ordinal));
            var aws = new Uri(Printed(printed, "AWS endpoint"));
            var control = new Uri(Printed(printed, "Sandbox control"));

            // As a person would with the AWS CLI: ten create-api-key calls at once, five a second allowed.
            using var apiGateway = AwsTestClients.Http(AwsService.ApiGateway, AwsTestClients.Options(aws, OfflineEnvironment.LocalCredentials, maxRetries: 0));
            var statuses = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
            {
                using var response = await apiGateway.PostAsync(
                    "/apikeys", new StringContent($$"""{"name":"flood-{{i}}","enabled":false}""", System.Text.Encoding.UTF8, "application/json"), Ct);
                return (int)response.StatusCode;
            }));
            Assert.InRange(statuses.Count(s => s == 201), 5, 6);
            Assert.Equal(10, statuses.Count(s => s is 201 or 429));

            using var web = new HttpClient();
            using var reconciled = await web.PostAsync(new Uri(control, "reconcile"), null, Ct);
            var table = await reconciled.Content.ReadAsStringAsync(Ct);
            Assert.True(reconciled.IsSuccessStatusCode, table);
            Assert.Contains($"reconciliation of {DateTime.UtcNow.AddDays(-2):yyyy-MM-dd} (UTC): 0 rows, drift 0", table, StringComparison.Ordinal);
            using var open = await web.PostAsync(new Uri(control, $"reconcile?day={DateTime.UtcNow:yyyy-MM-dd}"), null, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, open.StatusCode);
        }
        finally
        {
            await stop.CancelAsync();
            Assert.Equal(0, await running);
        }
    }

    private static async Task<string> SendAsync(HttpClient ses, string to, string subject, string text)
    {
        var body = JsonSerializer.Serialize(new
        {
            FromEmailAddress = OfflineEnvironment.EmailFromAddress,
            Destination = new { ToAddresses = new[] { to } },
            Content = new { Simple = new { Subject = new { Data = subject }, Body = new { Text = new { Data = text }, Html = new { Data = $"<p>{WebUtility.HtmlEncode(text)}</p>" } } } },
        });
        using var response = await ses.PostAsync(new Uri(ses.BaseAddress!, "/v2/email/outbound-emails"), Json(body), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return answer.RootElement.GetProperty("MessageId").GetString()!;
    }

    private static string Printed(IReadOnlyList<string> lines, string label) =>
        lines.Single(l => l.StartsWith(label + ": ", StringComparison.Ordinal))[(label.Length + 2)..];

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [GeneratedRegex(@"^\S+")]
    private static partial Regex PrintedUrl();

    /// <summary>Collects what the sandbox prints, line by line, and lets a test wait for a line.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public async Task<IReadOnlyList<string>> WaitForAsync(string line, Task running, CancellationToken cancellationToken)
        {
            var deadline = DateTimeOffset.UtcNow.AddSeconds(120);
            while (DateTimeOffset.UtcNow < deadline)
            {
                if (running.IsCompleted)
                {
                    await running;
                    throw new InvalidOperationException("The sandbox stopped before it was ready:\n" + Lines());
                }

                var lines = Lines();
                if (lines.Contains(line))
                {
                    return lines;
                }

                await Task.Delay(50, cancellationToken);
            }

            throw new TimeoutException("The sandbox did not get ready:\n" + string.Join('\n', Lines()));
        }

        private List<string> Lines()
        {
            lock (_text)
            {
                return [.. _text.ToString().Split('\n').Select(l => l.TrimEnd('\r'))];
            }
        }
    }
}
