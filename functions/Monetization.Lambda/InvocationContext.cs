namespace Monetization.Lambda;

/// <summary>What the Runtime API says about one invocation, from the headers of its <c>next</c> answer.</summary>
/// <param name="RequestId"><c>Lambda-Runtime-Aws-Request-Id</c>.</param>
/// <param name="Deadline"><c>Lambda-Runtime-Deadline-Ms</c>: when Lambda stops the invocation.</param>
/// <param name="InvokedFunctionArn"><c>Lambda-Runtime-Invoked-Function-Arn</c>.</param>
/// <param name="TraceId"><c>Lambda-Runtime-Trace-Id</c>, if tracing is on.</param>
public sealed record InvocationContext(string RequestId, DateTimeOffset Deadline, string? InvokedFunctionArn, string? TraceId);

/// <summary>
/// An event function: the invocation's payload in, the response payload out. The token is cancelled shortly before
/// the invocation's deadline, so the function can stop and the failure is reported instead of the process being killed.
/// An exception fails the invocation (Lambda retries asynchronous events, then dead-letters them).
/// </summary>
public delegate Task<Stream> LambdaHandler(Stream payload, InvocationContext context, CancellationToken cancellationToken);
