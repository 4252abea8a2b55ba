using System.Net.Http.Json;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Monetization.Emulators;
using Monetization.Emulators.Lambda;

namespace Monetization.Benchmarks;

/// <summary>
/// Start-up to first answer of each deployed artifact, started as Lambda starts it, against an empty program published
/// the same way: SubscriptionEvents (process start to its first invocation response, an SNS subscribe-success applied
/// against moto) against an empty Runtime API function; the Portal (process start to the first 200 on /healthz, then
/// the first <c>POST /register</c> answered, which writes the ledger and calls SES) against an empty ASP.NET Core app. With a second
/// checkout to compare with (<c>--compare DIR</c>), its Portal is published by its own Makefile and measured in the same
/// runs. Runs are interleaved so machine noise spreads over all of them. Beside each time it prints the process's
/// peak resident memory (<c>VmHWM</c>, read before the process is stopped), and after the runs one more cold start of
/// each function with <c>MONETIZATION_STARTUP_TRACE=1</c>, printing the stages the function reached, when, and the JIT time and methods compiled by then (what ReadyToRun left to compile).
/// </summary>
public static class StartupLatency
{
    public static async Task<int> RunAsync(int runs, string? compareWith, CancellationToken cancellationToken)
    {
        Console.WriteLine("publishing the artifacts with their Makefile targets ...");
        using var subscriptionEvents = await FunctionArtifact.PublishAsync("SubscriptionEventsFunction", cancellationToken);
        using var portal = await FunctionArtifact.PublishAsync("PortalFunction", cancellationToken);
        using var comparedPortal = compareWith is null ? null : await FunctionArtifact.PublishAsync("PortalFunction", compareWith, cancellationToken);
        using var comparedFunction = compareWith is null ? null : await FunctionArtifact.PublishAsync("SubscriptionEventsFunction", compareWith, cancellationToken);
        using var comparedEmptyFunction = compareWith is null ? null : await FunctionArtifact.PublishAsync("EmptyFunction", compareWith, cancellationToken);
        using var comparedEmptyWebApp = compareWith is null ? null : await FunctionArtifact.PublishAsync("EmptyWebApp", compareWith, cancellationToken);
        using var emptyFunction = await FunctionArtifact.PublishAsync("EmptyFunction", cancellationToken);
        using var emptyWebApp = await FunctionArtifact.PublishAsync("EmptyWebApp", cancellationToken);
        await using var environment = await OfflineEnvironment.StartAsync(cancellationToken);
        var secretArn = await OfflineLambda.CreateStripeSecretAsync(environment, cancellationToken);

        var timings = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        var memory = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        void Add(string name, double ms) => (timings.TryGetValue(name, out var list) ? list : timings[name] = []).Add(ms);
        void AddMemory(string name, long kilobytes) => (memory.TryGetValue(name, out var list) ? list : memory[name] = []).Add(kilobytes / 1024.0);
        Dictionary<string, string> SubscriptionEventsVariables(LambdaRuntimeApi api) =>
            OfflineLambda.FunctionEnvironment(environment, subscriptionEvents, "SubscriptionEvents", api, secretArn);
        Dictionary<string, string> PortalVariables(FunctionArtifact artifact, LambdaRuntimeApi api)
        {
            // This checkout's template and emulators: the compared Portal reads the same settings.
            var variables = OfflineLambda.FunctionEnvironment(environment, artifact, "Portal", api, secretArn);
            OfflineLambda.AddPortalEmulators(environment, variables);
            return variables;
        }

        for (var run = 0; run < runs; run++)
        {
            var (first, warm, peak, _) = await FirstInvocationAsync(subscriptionEvents, "SubscriptionEvents", SubscriptionEventsVariables, cancellationToken);
            Add("SubscriptionEvents", first);
            Add("SubscriptionEventsWarm", warm);
            AddMemory("SubscriptionEvents", peak);
            var empty = await FirstInvocationAsync(emptyFunction, "EmptyFunction", api => BaselineEnvironment(emptyFunction, "EmptyFunction", api), cancellationToken);
            Add("EmptyFunction", empty.First);
            AddMemory("EmptyFunction", empty.PeakKilobytes);
            if (comparedFunction is not null && comparedEmptyFunction is not null)
            {
                var compared = await FirstInvocationAsync(comparedFunction, "SubscriptionEvents", api => OfflineLambda.FunctionEnvironment(environment, comparedFunction, "SubscriptionEvents", api, secretArn), cancellationToken);
                Add("ComparedSubscriptionEvents", compared.First);
                AddMemory("ComparedSubscriptionEvents", compared.PeakKilobytes);
                var comparedEmpty = await FirstInvocationAsync(comparedEmptyFunction, "EmptyFunction", api => BaselineEnvironment(comparedEmptyFunction, "EmptyFunction", api), cancellationToken);
                Add("ComparedEmptyFunction", comparedEmpty.First);
                AddMemory("ComparedEmptyFunction", comparedEmpty.PeakKilobytes);
            }
            foreach (var (name, artifact) in new[] { ("Portal", portal), ("ComparedPortal", comparedPortal) })
            {
                if (artifact is null)
                {
                    continue;
                }

                var (healthy, register, portalPeak, _) = await FirstHealthyAsync(artifact, api => PortalVariables(artifact, api), FirstRegisterAsync, cancellationToken);
                Add(name, healthy);
                AddMemory(name, portalPeak);
                Add(name + "Register", register);
                Add(name + "StartToRegister", healthy + register);
            }

            var emptyApp = await FirstHealthyAsync(emptyWebApp, api => EmptyWebAppEnvironment(emptyWebApp, api), null, cancellationToken);
            Add("EmptyWebApp", emptyApp.Healthy);
            AddMemory("EmptyWebApp", emptyApp.PeakKilobytes);
            if (comparedEmptyWebApp is not null)
            {
                var comparedApp = await FirstHealthyAsync(comparedEmptyWebApp, api => EmptyWebAppEnvironment(comparedEmptyWebApp, api), null, cancellationToken);
                Add("ComparedEmptyWebApp", comparedApp.Healthy);
                AddMemory("ComparedEmptyWebApp", comparedApp.PeakKilobytes);
            }
        }

        // One more cold start of each, traced: where the time goes (the trace itself costs a few milliseconds).
        var tracedFunction = await FirstInvocationAsync(subscriptionEvents, "SubscriptionEvents", api => Traced(SubscriptionEventsVariables(api)), cancellationToken);
        var tracedPortal = await FirstHealthyAsync(portal, api => Traced(PortalVariables(portal, api)), null, cancellationToken);

        Console.WriteLine($"start-up to first answer, median of {runs} runs (min-max), ReadyToRun linux-x64 as the Makefile publishes; peak memory (VmHWM), median:");
        Print("SubscriptionEvents (start -> first invocation response)", timings["SubscriptionEvents"], timings["EmptyFunction"], memory["SubscriptionEvents"]);
        Print("  empty Runtime API function", timings["EmptyFunction"], null, memory["EmptyFunction"]);
        Print("  the same delivery again, warm (moto's share of the work)", timings["SubscriptionEventsWarm"], null);
        Print("Portal (start -> first 200 on /healthz)", timings["Portal"], timings["EmptyWebApp"], memory["Portal"]);
        Print("  empty ASP.NET Core app", timings["EmptyWebApp"], null, memory["EmptyWebApp"]);
        Print("Portal: first POST /register after /healthz (ledger and SES calls)", timings["PortalRegister"], null);
        Print("Portal: start -> first POST /register answered", timings["PortalStartToRegister"], null);
        if (comparedPortal is not null)
        {
            Console.WriteLine($"compared with {compareWith}, published by its own Makefile, measured in the same runs:");
            Print("  its SubscriptionEvents (start -> first invocation response)", timings["ComparedSubscriptionEvents"], timings["ComparedEmptyFunction"], memory["ComparedSubscriptionEvents"]);
            Print("    its empty Runtime API function", timings["ComparedEmptyFunction"], null, memory["ComparedEmptyFunction"]);
            Print("  its Portal (start -> first 200 on /healthz)", timings["ComparedPortal"], timings["ComparedEmptyWebApp"], memory["ComparedPortal"]);
            Print("    its empty ASP.NET Core app", timings["ComparedEmptyWebApp"], null, memory["ComparedEmptyWebApp"]);
            Print("  its first POST /register after /healthz", timings["ComparedPortalRegister"], null);
            Print("  its start -> first POST /register answered", timings["ComparedPortalStartToRegister"], null);
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"  ratios (this / compared): SubscriptionEvents {Median(timings["SubscriptionEvents"]) / Median(timings["ComparedSubscriptionEvents"]):0.000}, /healthz {Median(timings["Portal"]) / Median(timings["ComparedPortal"]):0.000}, first /register {Median(timings["PortalRegister"]) / Median(timings["ComparedPortalRegister"]):0.000}, start -> /register {Median(timings["PortalStartToRegister"]) / Median(timings["ComparedPortalStartToRegister"]):0.000}"));
        }

        Console.WriteLine("stages of one traced cold start (ms after the benchmark started the process):");
        PrintStages("SubscriptionEvents", tracedFunction.Stages, tracedFunction.First);
        PrintStages("Portal", tracedPortal.Stages, tracedPortal.Healthy);
        return 0;
    }

    private static Dictionary<string, string> Traced(Dictionary<string, string> variables)
    {
        variables["MONETIZATION_STARTUP_TRACE"] = "1";
        return variables;
    }

    private static void PrintStages(string name, IReadOnlyList<(string Stage, double Ms, string JitMs, string Jitted)> stages, double answered)
    {
        var line = string.Join(" -> ", stages.Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Stage} {s.Ms:0} (JIT {s.JitMs} ms, {s.Jitted} methods)")));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name}: start 0 -> {line} -> answer seen {answered:0}"));
    }

    /// <summary>The <c>startup-trace &lt;stage&gt; &lt;since process start&gt; &lt;unix ms&gt;</c> lines, relative to <paramref name="startedAt"/>.</summary>
    private static List<(string Stage, double Ms, string JitMs, string Jitted)> Stages(string output, DateTimeOffset startedAt)
    {
        var stages = new List<(string, double, string, string)>();
        foreach (var line in output.Split('\n'))
        {
            var parts = line.Trim().Split(' ');
            if (parts.Length == 6 && parts[0] == "startup-trace" && double.TryParse(parts[3], NumberStyles.Float, CultureInfo.InvariantCulture, out var unixMs))
            {
                stages.Add((parts[1], unixMs - (startedAt.ToUnixTimeMilliseconds() + (startedAt.Ticks % TimeSpan.TicksPerMillisecond / (double)TimeSpan.TicksPerMillisecond)), parts[4], parts[5]));
            }
        }

        return stages;
    }

    /// <summary>The process's peak resident set (<c>VmHWM</c>, kB), read while it still runs.</summary>
    private static long PeakKilobytes(LambdaProcess process)
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id.ToString(CultureInfo.InvariantCulture)}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"/proc/{process.Id}/status has no VmHWM.");
    }

    /// <summary>A new address's signup as the page's script posts it: the Portal counts and stores a sign-in link and mails it by SES.</summary>
    private static async Task FirstRegisterAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(
            "/register",
            new { email = $"first-{Guid.NewGuid():N}@example.com", firstname = "First", lastname = "Signup" },
            cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"The first /register answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken)}");
        }
    }

    /// <returns>Start to first response, the duration of a second, warm invocation of the same kind, the peak memory and the traced stages.</returns>
    private static async Task<(double First, double Warm, long PeakKilobytes, List<(string Stage, double Ms, string JitMs, string Jitted)> Stages)> FirstInvocationAsync(FunctionArtifact artifact, string handler, Func<LambdaRuntimeApi, Dictionary<string, string>> environment, CancellationToken cancellationToken)
    {
        await using var api = await LambdaRuntimeApi.StartAsync(cancellationToken);
        var variables = environment(api);
        var startedAt = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();
        await using var process = OfflineLambda.StartExecutableAssembly(artifact, handler, variables);
        var result = await api.InvokeAsync(SubscribeSuccess(), TimeSpan.FromSeconds(60), cancellationToken: cancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
        var first = stopwatch.Elapsed.TotalMilliseconds;
        Check(handler, result, process);
        stopwatch.Restart();
        var second = await api.InvokeAsync(SubscribeSuccess(), TimeSpan.FromSeconds(60), cancellationToken: cancellationToken)
            .WaitAsync(TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
        var warm = stopwatch.Elapsed.TotalMilliseconds;
        Check(handler, second, process);
        return (first, warm, PeakKilobytes(process), Stages(process.Output, startedAt));
    }

    private static void Check(string handler, LambdaInvocationResult result, LambdaProcess process)
    {
        if (result.Error is { } error)
        {
            throw new InvalidOperationException($"{handler} failed an invocation: {error.ErrorType} {error.ErrorMessage}\n{process.Output}");
        }
    }

    /// <returns>Start to the first 200 on /healthz, how long the first request after it took (0 without one), the peak memory and the traced stages.</returns>
    private static async Task<(double Healthy, double First, long PeakKilobytes, List<(string Stage, double Ms, string JitMs, string Jitted)> Stages)> FirstHealthyAsync(
        FunctionArtifact artifact, Func<LambdaRuntimeApi, Dictionary<string, string>> environment, Func<HttpClient, CancellationToken, Task>? firstRequest, CancellationToken cancellationToken)
    {
        await using var api = await LambdaRuntimeApi.StartAsync(cancellationToken);
        var variables = environment(api);
        var port = FreePort.Next();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}"), Timeout = TimeSpan.FromSeconds(30) };
        var startedAt = DateTimeOffset.UtcNow;
        var stopwatch = Stopwatch.StartNew();
        var (process, _) = OfflineLambda.StartWebApp(artifact, variables, port);
        await using (process)
        {
            await OfflineLambda.WaitForOkAsync(http, process, "/healthz", TimeSpan.FromSeconds(120), cancellationToken);
            var healthy = stopwatch.Elapsed.TotalMilliseconds;
            if (firstRequest is null)
            {
                return (healthy, 0, PeakKilobytes(process), Stages(process.Output, startedAt));
            }

            stopwatch.Restart();
            await firstRequest(http, cancellationToken);
            return (healthy, stopwatch.Elapsed.TotalMilliseconds, PeakKilobytes(process), Stages(process.Output, startedAt));
        }
    }

    /// <summary>The empty ASP.NET Core app listens where the Web Adapter would look for it.</summary>
    private static Dictionary<string, string> EmptyWebAppEnvironment(FunctionArtifact artifact, LambdaRuntimeApi api)
    {
        var variables = BaselineEnvironment(artifact, "EmptyWebApp", api);
        variables["AWS_LWA_PORT"] = "8080";
        variables["ASPNETCORE_URLS"] = "http://127.0.0.1:8080";
        return variables;
    }

    private static Dictionary<string, string> BaselineEnvironment(FunctionArtifact artifact, string handler, LambdaRuntimeApi api) =>
        LambdaProcess.LambdaVariables(artifact.TaskRoot, handler, api.HostAndPort, handler, OfflineEnvironment.Region, (OfflineEnvironment.LocalCredentials.AccessKey, OfflineEnvironment.LocalCredentials.SecretKey, OfflineLambda.SessionToken));

    /// <summary>A Marketplace SNS delivery granting a fresh buyer: real work for SubscriptionEvents, ignored by the empty function.</summary>
    private static string SubscribeSuccess()
    {
        var message = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["action"] = "subscribe-success",
            ["customer-identifier"] = "cust" + Guid.NewGuid().ToString("N")[..12],
            ["product-code"] = OfflineEnvironment.MarketplaceProductCode,
            ["offer-identifier"] = "offer-abcdefghijklm",
            ["isFreeTrialTermPresent"] = "false",
        });
        var topic = $"arn:aws:sns:us-east-1:287250355862:aws-mp-subscription-notification-{OfflineEnvironment.MarketplaceProductCode}";
        var record = new Dictionary<string, object>
        {
            ["EventSource"] = "aws:sns",
            ["EventVersion"] = "1.0",
            ["EventSubscriptionArn"] = topic + ":7d8a1f4e-0c1b-4a52-9a57-3f1f0c6c1b2a",
            ["Sns"] = new Dictionary<string, string>
            {
                ["Type"] = "Notification",
                ["MessageId"] = Guid.NewGuid().ToString(),
                ["TopicArn"] = topic,
                ["Message"] = message,
                ["Timestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
            },
        };
        return JsonSerializer.Serialize(new Dictionary<string, object> { ["Records"] = new[] { record } });
    }

    private static void Print(string name, List<double> timings, List<double>? baseline, List<double>? memoryMegabytes = null)
    {
        timings.Sort();
        var median = Median(timings);
        var line = $"{name,-58} {median,7:0} ms ({timings[0]:0}-{timings[^1]:0})";
        if (baseline is not null)
        {
            var baselineMedian = Median([.. baseline.Order()]);
            line += $"  = empty + {median - baselineMedian:0} ms ({median / baselineMedian:0.00}x)";
        }

        if (memoryMegabytes is not null)
        {
            line = $"{line,-110} peak {Median(memoryMegabytes):0.0} MB";
        }

        Console.WriteLine(line);
    }

    private static double Median(List<double> timings)
    {
        var sorted = timings.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
