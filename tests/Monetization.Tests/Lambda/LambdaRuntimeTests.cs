using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Monetization.Emulators.Lambda;
using Monetization.Lambda;

namespace Monetization.Tests.Lambda;

/// <summary>The Runtime API loop in process, against the local Runtime API: what each invocation is handed.</summary>
public sealed class LambdaRuntimeTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static async Task<(LambdaRuntimeApi Api, Task<int> Runtime, CancellationTokenSource Stop)> StartAsync(LambdaHandler handler)
    {
        var api = await LambdaRuntimeApi.StartAsync(Cancel);
        var stop = CancellationTokenSource.CreateLinkedTokenSource(Cancel);
        var runtime = LambdaRuntime.RunAsync(api.HostAndPort, () =>
        {
            var builder = Host.CreateEmptyApplicationBuilder(settings: null);
            builder.Services.AddSingleton(handler);
            return builder.Build();
        }, stop.Token);
        return (api, runtime, stop);
    }

    private static Stream Json(object value) => new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(value));

    [Fact]
    public async Task EachInvocationSeesItsOwnTraceIdInXAmznTraceId()
    {
        var (api, runtime, stop) = await StartAsync((_, _, _) =>
            Task.FromResult(Json(new { trace = Environment.GetEnvironmentVariable(LambdaRuntime.TraceIdVariable) })));
        await using var _ = api;
        using var __ = stop;
        const string first = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
        const string second = "Root=1-5759e989-0123456789abcdef01234567;Sampled=0";

        var one = await api.InvokeAsync("{}", TimeSpan.FromSeconds(30), first, Cancel);
        var two = await api.InvokeAsync("{}", TimeSpan.FromSeconds(30), second, Cancel);
        await stop.CancelAsync();

        Assert.Equal(first, JsonDocument.Parse(one.Response!).RootElement.GetProperty("trace").GetString());
        Assert.Equal(second, JsonDocument.Parse(two.Response!).RootElement.GetProperty("trace").GetString());
        Assert.Equal(0, await runtime);
    }

    [Fact]
    public async Task TheHandlerGetsThePayloadRequestIdFunctionArnAndDeadline()
    {
        var (api, runtime, stop) = await StartAsync(async (payload, context, _) =>
        {
            using var reader = new StreamReader(payload, Encoding.UTF8);
            return Json(new { body = await reader.ReadToEndAsync(), context.RequestId, context.InvokedFunctionArn, deadline = context.Deadline.ToUnixTimeMilliseconds() });
        });
        await using var _ = api;
        using var __ = stop;
        var before = DateTimeOffset.UtcNow;

        var result = await api.InvokeAsync("""{"hello":"world"}""", TimeSpan.FromSeconds(30), cancellationToken: Cancel);
        await stop.CancelAsync();

        var answer = JsonDocument.Parse(result.Response!).RootElement;
        Assert.Equal("""{"hello":"world"}""", answer.GetProperty("body").GetString());
        Assert.Equal(result.RequestId, answer.GetProperty("RequestId").GetString());
        Assert.Equal(LambdaRuntimeApi.FunctionArn, answer.GetProperty("InvokedFunctionArn").GetString());
        var deadline = DateTimeOffset.FromUnixTimeMilliseconds(answer.GetProperty("deadline").GetInt64());
        Assert.InRange(deadline, before.AddSeconds(29), before.AddSeconds(31));
        Assert.Equal(0, await runtime);
    }

    [Fact]
    public async Task AHandlerStoppedAtTheDeadlineIsReportedAsDeadlineExceeded()
    {
        var (api, runtime, stop) = await StartAsync(async (_, _, token) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), token);
            return Json(new { });
        });
        await using var _ = api;
        using var __ = stop;

        var result = await api.InvokeAsync("{}", TimeSpan.FromSeconds(1), cancellationToken: Cancel).WaitAsync(TimeSpan.FromSeconds(10), Cancel);
        await stop.CancelAsync();

        Assert.Equal("DeadlineExceeded", result.Error?.ErrorType);
        Assert.Equal(0, await runtime);
    }
}
