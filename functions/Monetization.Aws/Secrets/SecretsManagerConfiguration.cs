using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Monetization.Aws.Http;

namespace Monetization.Aws.Secrets;

public static class SecretsManagerConfiguration
{
    /// <summary>
    /// Adds the string fields of a JSON secret as settings under <paramref name="section"/>, e.g. a secret
    /// <c>{"SecretKey":"sk_...","WebhookSecret":"whsec_..."}</c> under <c>Stripe</c> gives <c>Stripe:SecretKey</c> and
    /// <c>Stripe:WebhookSecret</c>. Read once, when configuration is built, so secrets never sit in the template or in
    /// the function's environment.
    /// </summary>
    public static IConfigurationBuilder AddSecretsManagerJson(this IConfigurationBuilder builder, string secretId, string section, AwsClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(secretId);
        ArgumentException.ThrowIfNullOrWhiteSpace(section);
        ArgumentNullException.ThrowIfNull(options);
        return builder.Add(new Source(secretId, section, options));
    }

    /// <summary>
    /// When <c>{section}:SecretArn</c> is set, adds that secret's fields under <paramref name="section"/> (see above),
    /// read with the <c>Aws</c> settings configured so far. Configuration sources come before any container, so this
    /// binds the two settings it needs itself.
    /// </summary>
    /// <exception cref="InvalidOperationException">An <c>Aws</c> setting is malformed; the message names it.</exception>
    public static IConfigurationManager AddSecretsManagerJsonWhenNamed(this IConfigurationManager configuration, string section)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(section);
        if (configuration.GetSection(section).Get<SecretReference>()?.SecretArn is { Length: > 0 } secretArn)
        {
            var aws = AwsSettings.Bootstrap(configuration);
            configuration.AddSecretsManagerJson(secretArn, section, new AwsClientOptions { Region = aws.Region, ServiceUrl = aws.ServiceUrl });
        }

        return configuration;
    }

    internal sealed class SecretReference
    {
        public string? SecretArn { get; set; }
    }

    private sealed class Source(string secretId, string section, AwsClientOptions options) : IConfigurationSource
    {
        public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(secretId, section, options);
    }

    private sealed class Provider(string secretId, string section, AwsClientOptions options) : ConfigurationProvider
    {
        public override void Load()
        {
            using var http = AwsHttp.CreateClient(AwsConnection.Resolve(AwsService.SecretsManager, options), options);
            using var timeout = new CancellationTokenSource(options.Timeout);

            // Configuration providers load synchronously; this runs once, before the host starts serving.
            var secret = new SecretsManagerClient(http).GetSecretStringAsync(secretId, timeout.Token).GetAwaiter().GetResult();
            using var document = ParseObject(secret.Reveal());
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (var field in document.RootElement.EnumerateObject())
            {
                if (field.Value.ValueKind == JsonValueKind.String)
                {
                    data[$"{section}:{field.Name}"] = field.Value.GetString();
                }
            }

            Data = data;
        }

        private JsonDocument ParseObject(string json)
        {
            try
            {
                var document = JsonDocument.Parse(json);
                if (document.RootElement.ValueKind == JsonValueKind.Object)
                {
                    return document;
                }

                document.Dispose();
            }
            catch (JsonException)
            {
                // Reported below without the secret's text.
            }

            throw new InvalidOperationException($"Secret {secretId} must hold a JSON object of strings.");
        }
    }
}
