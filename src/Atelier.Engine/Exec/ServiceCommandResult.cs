namespace Atelier.Exec;

/// <summary>
/// What a command run as a service's user left: its exit code, its output lines (cleaned and redacted, as printed)
/// and how long it ran. <c>Service</c> and <c>ComputerName</c> bind by property name into the next cmdlet.
/// </summary>
public sealed class ServiceCommandResult
{
    public required string Service { get; init; }

    public required string ComputerName { get; init; }

    /// <summary>The account it ran as.</summary>
    public required string User { get; init; }

    /// <summary>The folder inside <c>~/app</c> it ran in.</summary>
    public required string WorkDir { get; init; }

    /// <summary>The command as it was given.</summary>
    public required string Command { get; init; }

    /// <summary>The command exactly as the host's shell received it.</summary>
    public required string RemoteCommand { get; init; }

    public int ExitCode { get; init; }

    public bool Succeeded => ExitCode == 0;

    /// <summary>Its standard output, line by line (host text: cleaned and redacted).</summary>
    public string[] Output { get; init; } = [];

    /// <summary>Its standard error, line by line (host text: cleaned and redacted).</summary>
    public string[] Error { get; init; } = [];

    public DateTimeOffset StartedAt { get; init; }

    public TimeSpan Duration { get; init; }

    public override string ToString() => $"{Service}@{ComputerName}: exit {ExitCode} after {Duration.TotalSeconds:0.###} s: {Command}";
}
