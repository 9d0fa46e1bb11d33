using Atelier.Output;
using Atelier.Shell;

namespace Atelier.Transport;

/// <summary>
/// Where a service's commands run: a host over SSH, or this machine. One instance is one connection, reused for
/// every step a cmdlet takes on that host.
/// </summary>
public interface IRemoteHost : IDisposable
{
    /// <summary>The host as the user named it (for results and messages).</summary>
    string ComputerName { get; }

    /// <summary>The account commands run as.</summary>
    string User { get; }

    /// <summary>Runs a command in the account's home folder; a non-zero exit is returned, not thrown.</summary>
    /// <exception cref="RemoteCommandTimeoutException">The command ran longer than its timeout and was stopped.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the command was stopped on the host.</exception>
    Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken);

    /// <summary>
    /// Copies a file from the host to this machine, into a new file at <paramref name="localPath"/> created with mode
    /// 0600 (see <see cref="PrivateFile"/>): it fails, changing nothing, when a file is already there.
    /// </summary>
    Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken);
}

/// <summary>How to run one command.</summary>
public sealed record CommandOptions
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Longest the command may run; it is then stopped with its whole process group.</summary>
    public TimeSpan Timeout { get; init; } = DefaultTimeout;

    /// <summary>Called for each line of output as it arrives (from a background thread).</summary>
    public Action<OutputLine>? OnLine { get; init; }

    /// <summary>
    /// False: standard output goes only to <see cref="OnLine"/>, and the result's <c>Output</c> is empty (a command that
    /// streams for hours, such as <c>journalctl --follow</c>, then keeps nothing here). Standard error is always kept.
    /// </summary>
    public bool KeepOutput { get; init; } = true;
}

/// <summary>One line a remote command wrote.</summary>
public readonly record struct OutputLine(string Text, bool IsError);

/// <summary>What a finished command left: exit code, output and how long it took.</summary>
public sealed record CommandResult(string CommandText, int ExitCode, string Output, string Error, TimeSpan Duration)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>
    /// The last lines of output and error, for a result's detail or a message: host text, so cleaned of terminal control
    /// and redacted (<see cref="HostText.Tail"/> with the built-in redaction).
    /// </summary>
    public string Tail(int lines = 20) => HostText.Default.Tail(this, lines);

    /// <summary>Throws <see cref="RemoteCommandException"/> when the command failed.</summary>
    public CommandResult EnsureSuccess(string what)
    {
        if (!Succeeded)
        {
            throw new RemoteCommandException(what, this);
        }

        return this;
    }
}
