using Monetization.Portal.Hosting;

var app = PortalApp.Create(args);
app.Run();

public partial class Program;
