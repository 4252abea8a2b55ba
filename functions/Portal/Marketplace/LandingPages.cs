using Microsoft.AspNetCore.Http.HttpResults;
using Monetization.Core;
using Monetization.Portal.Hosting;
using Monetization.Portal.Pages;

namespace Monetization.Portal.Marketplace;

/// <summary>What a buyer arriving from AWS Marketplace sees. Only the key is dynamic, and it is encoded.</summary>
public static class LandingPages
{
    public const string ReturnToMarketplace =
        "Please go back to AWS Marketplace, open <strong>Your software subscriptions</strong>, choose this product and " +
        "select <strong>Set up your account</strong> to be sent here again.";

    /// <param name="apiKeyOnce">The key's value the one time it is shown; null on every later landing.</param>
    /// <param name="hint">The last characters of the value, once it has been shown.</param>
    public static ContentHttpResult Key(Secret? apiKeyOnce, string? hint, bool active, PortalOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var status = active
            ? "<p class=\"status active\">Status: <strong>active</strong>. Your subscription is confirmed and the key works now.</p>"
            : "<p class=\"status pending\">Status: <strong>waiting for AWS Marketplace to confirm your subscription</strong>. " +
              "This usually takes a minute or two; the key starts working as soon as it is confirmed, with nothing more to do here.</p>";
        var key = apiKeyOnce is { } value
            ? $"""
                {Html.KeyBlock(value.Reveal(), null, "This is the only time the key is shown: copy it now and keep it secret.")}
                {Html.CallExample(options.ApiBase(), value.Reveal())}
                """
            : $"""
                <h2>API key</h2>
                <p id="api-key-named">Your key{(hint is null ? string.Empty : $" ending in <code id=\"api-key-hint\">{Html.Encode(hint)}</code>")} was shown when it was created; for security it is not shown again. Lost it? Rotate it on your account page.</p>
                """;
        return Html.Page("Your API key", $"""
            <h1>Thank you for subscribing through AWS Marketplace</h1>
            {status}
            {key}
            <p>Usage is billed to your AWS account through AWS Marketplace.</p>
            <p><a href="/account" id="to-account">Your account</a>: usage this month, and a new key if this one is lost or leaked.</p>
            {Html.Support(options.SupportContact)}
            """);
    }

    public static ContentHttpResult MissingToken() => Html.Page("Subscribe through AWS Marketplace", $"""
        <h1>Subscribe through AWS Marketplace</h1>
        <p class="error" role="alert">This page is where AWS Marketplace sends you after you subscribe, and it did not receive your registration.</p>
        <p>{ReturnToMarketplace}</p>
        """, StatusCodes.Status400BadRequest);

    public static ContentHttpResult InvalidToken() => Html.Page("We could not confirm your subscription", $"""
        <h1>We could not confirm your subscription</h1>
        <p class="error" role="alert">AWS Marketplace did not recognise the registration this page received.</p>
        <p>{ReturnToMarketplace}</p>
        """, StatusCodes.Status400BadRequest);

    public static ContentHttpResult ExpiredToken() => Html.Page("Your registration link has expired", $"""
        <h1>Your registration link has expired</h1>
        <p class="error" role="alert">The registration AWS Marketplace sent with you is only valid for a short time, and it has run out.</p>
        <p>{ReturnToMarketplace}</p>
        """, StatusCodes.Status400BadRequest);

    public static ContentHttpResult UnknownProduct(PortalOptions options) => Html.Page("Not a product sold here", $"""
        <h1>Not a product sold here</h1>
        <p class="error" role="alert">The AWS Marketplace subscription you arrived with is for a product this site does not sell, so no key was created.</p>
        <p>Check that you subscribed to the right listing on AWS Marketplace.</p>
        {Html.Support(options?.SupportContact, "If it is the right one, contact the seller at {0}.")}
        """, StatusCodes.Status400BadRequest);

    /// <summary>The buyer's subscription ended (or failed): the key was withdrawn and is not shown again.</summary>
    public static ContentHttpResult Ended(PortalOptions options) => Html.Page("Your subscription has ended", $"""
        <h1>Your subscription has ended</h1>
        <p role="status">AWS Marketplace reports that your subscription to this product has ended, so your API key no longer works.</p>
        <p>To use the API again, subscribe once more on AWS Marketplace; you will come back here and your key will work again.</p>
        {Html.Support(options?.SupportContact, "Questions about your subscription: {0}.")}
        """, StatusCodes.Status200OK);
}
