using Atelier.Shell;

namespace Atelier.Transport;

/// <summary>Runs the same steps on this machine, without SSH: for an admin working on the host itself.</summary>
public sealed class LocalHost : IRemoteHost
{
    private readonly string _home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public string ComputerName => "localhost";

    public string User => Environment.UserName;

    public async Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(options);
        // Like sshd, each command runs in a session of its own (setsid, when this machine has it): a deploy step's process
        // group is then the step's alone, so stopping it never reaches the caller, and stopping the step kills the group.
        var result = await LocalProcess.RunAsync(
            new LocalProcessStart
            {
                Program = "/bin/sh",
                Arguments = ["-c", command.Text],
                WorkingDirectory = _home,
                NewSession = true,
                LineByLine = true,
                OnLine = options.OnLine,
                KeepOutput = options.KeepOutput,
                Timeout = options.Timeout,
            },
            cancellationToken).ConfigureAwait(false);
        return result.TimedOut
            ? throw new RemoteCommandTimeoutException(command.Text, options.Timeout, result.Output)
            : new CommandResult(command.Text, result.ExitCode, result.Output, result.Error, result.Duration);
    }

    public async Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken)
    {
        var source = SshConfig.ExpandPath(RemoteValue.Path(remotePath), _home);
        await using var from = new FileStream(Path.IsPathRooted(source) ? source : Path.Combine(_home, source), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        await using var to = PrivateFile.CreateNew(localPath, useAsync: true);
        await from.CopyToAsync(to, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose()
    {
    }
}
