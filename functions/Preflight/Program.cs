using Monetization.Preflight;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

return await PreflightCommand.RunAsync(args, Console.Out, Console.Error, stop.Token);
