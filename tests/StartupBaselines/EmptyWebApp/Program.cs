var app = WebApplication.CreateSlimBuilder(args).Build();
app.MapGet("/healthz", () => TypedResults.Text("ok"));
app.Run();
