namespace Monetization.Aws.Email;

/// <summary>
/// SES refused to send for a reason of this deployment (sender not verified, the account in the SES sandbox, sending
/// paused or suspended, a configuration set that does not exist): retrying does not help and no user can fix it, so
/// it reaches hosts inside a <see cref="Core.DependencyUnavailableException"/> ("try again later") while its message
/// tells the operator what to change. It never carries a recipient's address or the message's content.
/// </summary>
public sealed class EmailSendingRefusedException : Exception
{
    public EmailSendingRefusedException()
        : this("SES refused to send.")
    {
    }

    public EmailSendingRefusedException(string message)
        : base(message)
    {
        ErrorCode = string.Empty;
        Setting = string.Empty;
    }

    public EmailSendingRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorCode = string.Empty;
        Setting = string.Empty;
    }

    public EmailSendingRefusedException(string errorCode, string setting, string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
        Setting = setting;
    }

    /// <summary>SES's error code, e.g. <c>MessageRejected</c>.</summary>
    public string ErrorCode { get; }

    /// <summary>What to change: a setting such as <c>Email:FromAddress</c>, or the SES account itself.</summary>
    public string Setting { get; }
}
