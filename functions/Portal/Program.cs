using Monetization.Http;
using Monetization.Portal.Hosting;

StartupTrace.Mark("main");
var app = PortalApp.Create(args);
app.Run();

public partial class Program;
