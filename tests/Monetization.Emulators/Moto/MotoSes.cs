using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Monetization.Emulators.Moto;

/// <summary>
/// SES set up in moto the way an owner does it in AWS, with SES v2's own calls: an identity to send from (moto treats
/// a created identity as verified, as AWS does once the owner clicked the link or published the DKIM records) and a
/// configuration set. The client passed in is signed for SES (signing name <c>ses</c>).
/// </summary>
public static class MotoSes
{
    public static Task CreateEmailIdentityAsync(HttpClient ses, string identity, CancellationToken cancellationToken = default) =>
        PostAsync(ses, "/v2/email/identities", new JsonObject { ["EmailIdentity"] = identity }, cancellationToken);

    public static Task CreateConfigurationSetAsync(HttpClient ses, string name, CancellationToken cancellationToken = default) =>
        PostAsync(ses, "/v2/email/configuration-sets", new JsonObject { ["ConfigurationSetName"] = name }, cancellationToken);

    private static async Task PostAsync(HttpClient ses, string path, JsonObject body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ses);
        using var response = await ses.PostAsJsonAsync(new Uri(ses.BaseAddress!, path), body, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"SES POST {path} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)}");
        }
    }
}
