using Monetization.Aws.ApiGateway;
using Monetization.Aws.Http;
using Monetization.Core.ApiKeys;
using Monetization.Tests.Infrastructure;

namespace Monetization.Tests.Aws;

/// <summary>Every API Gateway operation we use except GetUsage, against moto_server. Resource names are unique per test.</summary>
public sealed class ApiGatewayAgainstMotoTests(MotoFixture moto) : IClassFixture<MotoFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private ApiGatewayClient Client => AwsTestClients.ApiGateway(moto.Endpoint);

    private ApiGatewayApiKeys Keys => new(Client);

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}";

    private static ApiKeySpec Spec(string name, string? customerId = null, bool enabled = true) =>
        new(name, "test key", enabled, customerId, new Dictionary<string, string> { ["subscriber"] = name });

    [Fact]
    public async Task ACreatedKeyReadsBackWithItsValueOnlyWhenAskedFor()
    {
        var name = Unique("create");

        var created = await Keys.CreateAsync(Spec(name, "cust-1"), Cancel);
        var withValue = await Keys.GetAsync(created.Id, includeValue: true, Cancel);
        var withoutValue = await Keys.GetAsync(created.Id, includeValue: false, Cancel);

        Assert.NotNull(created.Value);
        Assert.Equal(name, created.Name);
        Assert.True(created.Enabled);
        Assert.Equal("cust-1", created.CustomerId);
        Assert.Equal(name, created.Tags["subscriber"]);
        Assert.Equal(created.Value, withValue!.Value);
        Assert.Null(withoutValue!.Value);
        Assert.Equal("***", $"{withValue.Value}");
    }

    [Fact]
    public async Task GettingAnUnknownKeyReturnsNull()
    {
        Assert.Null(await Keys.GetAsync("doesnotexist", includeValue: false, Cancel));
    }

    [Fact]
    public async Task FindingByNameReturnsOnlyExactMatchesNotPrefixMatches()
    {
        var name = Unique("byname");
        var exact = await Keys.CreateAsync(Spec(name), Cancel);
        await Keys.CreateAsync(Spec(name + "-longer"), Cancel);

        var found = await Keys.FindByNameAsync(name, includeValue: true, Cancel);

        var key = Assert.Single(found);
        Assert.Equal(exact.Id, key.Id);
        Assert.Equal(exact.Value, key.Value);
    }

    [Fact]
    public async Task FindingByCustomerIdReturnsOnlyThatCustomersKeysEvenWhenTheServiceIgnoresTheFilter()
    {
        var customer = Unique("cust");
        var mine = await Keys.CreateAsync(Spec(Unique("mine"), customer), Cancel);
        await Keys.CreateAsync(Spec(Unique("other"), Unique("cust")), Cancel);
        await Keys.CreateAsync(Spec(Unique("none")), Cancel);

        var found = await Keys.FindByCustomerIdAsync(customer, includeValue: false, Cancel);

        var key = Assert.Single(found);
        Assert.Equal(mine.Id, key.Id);
        Assert.Null(key.Value);
    }

    [Fact]
    public async Task DisablingAndEnablingAKeyIsVisibleOnTheKey()
    {
        var key = await Keys.CreateAsync(Spec(Unique("toggle")), Cancel);

        await Keys.UpdateAsync(key.Id, new ApiKeyUpdate(Enabled: false), Cancel);
        var disabled = await Keys.GetAsync(key.Id, includeValue: false, Cancel);
        await Keys.UpdateAsync(key.Id, new ApiKeyUpdate(Enabled: true), Cancel);
        var enabled = await Keys.GetAsync(key.Id, includeValue: false, Cancel);

        Assert.False(disabled!.Enabled);
        Assert.True(enabled!.Enabled);
    }

    [Fact]
    public async Task SettingTheCustomerIdIsVisibleOnTheKey()
    {
        var key = await Keys.CreateAsync(Spec(Unique("customer")), Cancel);

        await Keys.UpdateAsync(key.Id, new ApiKeyUpdate(CustomerId: "mp-customer-7"), Cancel);

        Assert.Equal("mp-customer-7", (await Keys.GetAsync(key.Id, includeValue: false, Cancel))!.CustomerId);
    }

    [Fact]
    public async Task UpdatingAnUnknownKeyIsATypedNotFound()
    {
        var error = await Assert.ThrowsAsync<AwsServiceException>(() => Keys.UpdateAsync("doesnotexist", new ApiKeyUpdate(Enabled: false), Cancel));

        Assert.Equal(AwsErrorKind.NotFound, error.Kind);
        Assert.Equal(404, (int)error.StatusCode);
        Assert.Equal("NotFoundException", error.ErrorCode);
    }

    [Fact]
    public async Task DeletingAKeyTwiceReportsTheSecondTimeThatItWasAlreadyGone()
    {
        var key = await Keys.CreateAsync(Spec(Unique("delete")), Cancel);

        Assert.True(await Keys.DeleteAsync(key.Id, Cancel));
        Assert.False(await Keys.DeleteAsync(key.Id, Cancel));
        Assert.Null(await Keys.GetAsync(key.Id, includeValue: false, Cancel));
    }

    [Fact]
    public async Task AddingAndRemovingAKeyChangesTheUsagePlansMembers()
    {
        var planId = await MotoApiGateway.CreateUsagePlanAsync(moto.Endpoint, Unique("plan"), Cancel);
        var key = await Keys.CreateAsync(Spec(Unique("member")), Cancel);

        Assert.True(await Keys.AddToUsagePlanAsync(planId, key.Id, Cancel));
        var afterAdd = await MotoApiGateway.UsagePlanKeyIdsAsync(moto.Endpoint, planId, Cancel);
        Assert.True(await Keys.RemoveFromUsagePlanAsync(planId, key.Id, Cancel));
        var afterRemove = await MotoApiGateway.UsagePlanKeyIdsAsync(moto.Endpoint, planId, Cancel);

        Assert.Equal([key.Id], afterAdd);
        Assert.Empty(afterRemove);
    }

    [Fact]
    public async Task SettingTheUsagePlansProductCodeIsReturnedOnThePlan()
    {
        var planId = await MotoApiGateway.CreateUsagePlanAsync(moto.Endpoint, Unique("product"), Cancel);

        var plan = await Client.UpdateUsagePlanAsync(planId, [PatchOperation.Replace("/productCode", "prod-abc123")], Cancel);

        Assert.Equal(planId, plan.Id);
        Assert.Equal("prod-abc123", plan.ProductCode);
    }
}
