using System.Diagnostics;
using System.Text;
using Atelier.Shell;

namespace Atelier.Transport;

/// <summary>Runs the same steps on this machine, without SSH: for an admin working on the host itself.</summary>
public sealed class LocalHost : IRemoteHost
{
    private static readonly Lazy<string?> Setsid = new(() => LocalProgram.FindOnPath("setsid"));
    private readonly string _home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    public string ComputerName => "localhost";

    public string User => Environment.UserName;

    public async Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        // Like sshd, each command runs in a session of its own (setsid, when this machine has it): a deploy step's process
        // group is then the step's alone, so stopping it never reaches the caller.
        var start = new ProcessStartInfo(Setsid.Value ?? "/bin/sh")
        {
            WorkingDirectory = _home,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
        };
        if (Setsid.Value is not null)
        {
            start.ArgumentList.Add("--wait");
            start.ArgumentList.Add("/bin/sh");
        }

        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command.Text);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start /bin/sh.");
        process.StandardInput.Close();
        var output = new StringBuilder();
        var error = new StringBuilder();
        var readOut = PumpAsync(process.StandardOutput, options.KeepOutput ? output : null, false, options.OnLine);
        var readErr = PumpAsync(process.StandardError, error, true, options.OnLine);
        using var timeout = new CancellationTokenSource(options.Timeout);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await process.WaitForExitAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new RemoteCommandTimeoutException(command.Text, options.Timeout, output.ToString());
        }

        await Task.WhenAll(readOut, readErr).ConfigureAwait(false);
        return new CommandResult(command.Text, process.ExitCode, output.ToString(), error.ToString(), stopwatch.Elapsed);
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

    private static async Task PumpAsync(StreamReader reader, StringBuilder? into, bool isError, Action<OutputLine>? onLine)
    {
        string? line;
        while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) is not null)
        {
            into?.Append(line).Append('\n');
            onLine?.Invoke(new OutputLine(line, isError));
        }
    }
}
