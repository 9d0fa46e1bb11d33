namespace Atelier.Transport;

/// <summary>A remote command exited non-zero where success was required.</summary>
public sealed class RemoteCommandException : Exception
{
    public RemoteCommandException(string what, CommandResult result)
        : base(Describe(what, result)) => Result = result;

    public CommandResult Result { get; }

    private static string Describe(string what, CommandResult result)
    {
        var tail = result.Tail(10);
        return $"{what} failed with exit code {result.ExitCode}." + (tail.Length > 0 ? $" Output:\n{tail}" : string.Empty);
    }
}

/// <summary>A remote command ran past its timeout; it was stopped on the host.</summary>
public sealed class RemoteCommandTimeoutException : TimeoutException
{
    public RemoteCommandTimeoutException(string commandText, TimeSpan timeout, string partialOutput)
        : base($"The remote command did not finish within {timeout.TotalSeconds:0.###} s and was stopped: {commandText}")
    {
        CommandText = commandText;
        Timeout = timeout;
        PartialOutput = partialOutput;
    }

    public string CommandText { get; }

    public TimeSpan Timeout { get; }

    public string PartialOutput { get; }
}

/// <summary>Connecting or authenticating to a host failed.</summary>
public class HostConnectionException : Exception
{
    public HostConnectionException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }

    /// <summary>What the user can do about it, when that is a parameter or a command: the cmdlets put it into words.</summary>
    public IReadOnlyList<Hint> Hints { get; init; } = [];
}

/// <summary>
/// The connection to a host was lost (while a command ran, or before the next one could be sent) and could not be
/// opened again. What the command left running on the host was not stopped.
/// </summary>
public sealed class HostConnectionLostException : HostConnectionException
{
    public HostConnectionLostException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>The host's key is not the one recorded, or the host is unknown and new keys are not accepted.</summary>
public sealed class HostKeyException : HostConnectionException
{
    public HostKeyException(string message, HostKeyVerdict verdict, string offeredFingerprint, IReadOnlyList<string> expectedFingerprints)
        : base(message)
    {
        Verdict = verdict;
        OfferedFingerprint = offeredFingerprint;
        ExpectedFingerprints = expectedFingerprints;
    }

    public HostKeyVerdict Verdict { get; }

    public string OfferedFingerprint { get; }

    public IReadOnlyList<string> ExpectedFingerprints { get; }
}

/// <summary>A program could not be started on this machine: it is missing (<c>ProgramNotFound</c>), or the system refused to run it.</summary>
public sealed class ProgramStartException : AtelierException
{
    private const int NoSuchFile = 2; // ENOENT

    private ProgramStartException(string program, string errorId, FailureKind kind, string message, Exception? inner)
        : base(errorId, kind, message, inner) => Program = program;

    /// <summary>The program as it was given.</summary>
    public string Program { get; }

    internal static ProgramStartException NotFound(string program, Exception? inner = null) =>
        new(program, "ProgramNotFound", FailureKind.NotInstalled, $"Could not start {program}: there is no such program{(Path.IsPathRooted(program) ? string.Empty : " on PATH")}.", inner);

    internal static ProgramStartException For(string program, string? workingDirectory, System.ComponentModel.Win32Exception exception)
    {
        if (workingDirectory is not null && !Directory.Exists(workingDirectory))
        {
            return new(program, "ProgramNotStarted", FailureKind.NotFound, $"Could not start {program}: its working folder {workingDirectory} does not exist.", exception);
        }

        return exception.NativeErrorCode == NoSuchFile
            ? NotFound(program, exception)
            : new(program, "ProgramNotStarted", FailureKind.OperationFailed, $"Could not start {program}: {exception.Message}", exception);
    }
}
