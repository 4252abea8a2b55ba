using System.Text.Json.Serialization.Metadata;
using Monetization.Stripe.Wire;

namespace Monetization.Stripe.Operations;

public sealed record CreateCustomer(string? Email, string? Name, IReadOnlyDictionary<string, string>? Metadata) : IStripeOperation<StripeCustomer>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => "/v1/customers";

    public JsonTypeInfo<StripeCustomer> ResponseType => StripeJsonContext.Default.StripeCustomer;

    public void WriteParameters(StripeForm form) => form.Add("email", Email).Add("name", Name).AddMap("metadata", Metadata);
}

/// <summary>Merges keys into the customer's metadata; an empty value removes that key.</summary>
public sealed record UpdateCustomerMetadata(string CustomerId, IReadOnlyDictionary<string, string> Metadata) : IStripeOperation<StripeCustomer>
{
    public HttpMethod Method => HttpMethod.Post;

    public string Path => $"/v1/customers/{StripePath.Segment(CustomerId)}";

    public JsonTypeInfo<StripeCustomer> ResponseType => StripeJsonContext.Default.StripeCustomer;

    public void WriteParameters(StripeForm form) => form.AddMap("metadata", Metadata);
}

/// <summary>Customers with exactly this email (Stripe matches case-sensitively), newest first.</summary>
public sealed record ListCustomersByEmail(string Email, int Limit = 10) : IStripeOperation<StripeList<StripeCustomer>>
{
    public HttpMethod Method => HttpMethod.Get;

    public string Path => "/v1/customers";

    public JsonTypeInfo<StripeList<StripeCustomer>> ResponseType => StripeJsonContext.Default.StripeListStripeCustomer;

    public void WriteParameters(StripeForm form) => form.Add("email", Email).Add("limit", Limit);
}
