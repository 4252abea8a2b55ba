var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.AddJsonConsole();

var app = builder.Build();
app.MapGet("/healthz", () => TypedResults.Ok("ok"));
app.Run();

public partial class Program;
