using Monetization.Aws.ApiGateway;

namespace Monetization.Preflight;

/// <summary>
/// Links the Marketplace usage plan to the product: API Gateway meters a plan's keys to Marketplace only when the
/// plan carries the product code, and CloudFormation's AWS::ApiGateway::UsagePlan has no property for it.
/// </summary>
public static class LinkProductCode
{
    public static async Task<UsagePlan> RunAsync(ApiGatewayClient apiGateway, string usagePlanId, string productCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(apiGateway);
        return await apiGateway.UpdateUsagePlanAsync(usagePlanId, [PatchOperation.Replace("/productCode", productCode)], cancellationToken);
    }

    /// <summary>The same change as an AWS CLI line, for owners who would rather paste it.</summary>
    public static string CliCommand(string usagePlanId, string productCode, string region) =>
        $"aws apigateway update-usage-plan --usage-plan-id {Shell.Quote(usagePlanId)} " +
        $"--patch-operations op=replace,path=/productCode,value={Shell.Quote(productCode)} --region {Shell.Quote(region)}";
}
