namespace Atelier;

/// <summary>
/// A failure the engine understands, with a stable id for error records (e.g. <c>SnapshotToolMissing</c>) and a kind
/// that cmdlets map to a PowerShell error category.
/// </summary>
public class AtelierException : Exception
{
    public AtelierException(string errorId, FailureKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        ErrorId = errorId;
        Kind = kind;
    }

    public string ErrorId { get; }

    public FailureKind Kind { get; }

    /// <summary>What the user can do about it, when that is a parameter or a command: the cmdlets put it into words.</summary>
    public IReadOnlyList<Hint> Hints { get; init; } = [];
}

/// <summary>What sort of failure an <see cref="AtelierException"/> is.</summary>
public enum FailureKind
{
    InvalidArgument,
    NotFound,
    NotInstalled,
    Connection,
    Security,
    Timeout,
    InvalidData,
    ResourceBusy,
    OperationFailed,

    /// <summary>Something the operation needs is used up on the host (free disk space).</summary>
    ResourceUnavailable,

    /// <summary>Something is already where the operation would create it (a file it must not replace).</summary>
    AlreadyExists,

    /// <summary>The account may not do what the operation needs (read the journal); the message says what to grant.</summary>
    PermissionDenied,
}
