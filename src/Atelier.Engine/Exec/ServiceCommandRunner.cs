using Atelier.Output;
using Atelier.Transport;

namespace Atelier.Exec;

/// <summary>
/// Runs a <see cref="ServiceCommandRequest"/> on a host over its connection: each line of output is cleaned and
/// redacted (one cleaner per stream) and handed over as it arrives, and kept for the result. The command runs in its
/// own process group on the host; a timeout or a cancellation stops the whole group (<see cref="IRemoteHost.RunAsync"/>).
/// A non-zero exit is a result, not an exception.
/// </summary>
public static class ServiceCommandRunner
{
    /// <exception cref="RemoteCommandTimeoutException">It ran past <see cref="CommandOptions.Timeout"/> and was stopped.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; it was stopped on the host.</exception>
    public static async Task<ServiceCommandResult> RunAsync(
        IRemoteHost host, ServiceCommandRequest request, HostText text, TimeSpan timeout, Action<OutputLine>? onLine, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(text);
        var command = request.Build();
        var output = new List<string>();
        var error = new List<string>();
        var outCleaner = text.LineByLine();
        var errCleaner = text.LineByLine();
        var gate = new object();
        var started = DateTimeOffset.UtcNow;
        var options = new CommandOptions
        {
            Timeout = timeout,
            OnLine = line =>
            {
                string clean;
                lock (gate)
                {
                    clean = (line.IsError ? errCleaner : outCleaner).Next(line.Text);
                    (line.IsError ? error : output).Add(clean);
                }

                onLine?.Invoke(line with { Text = clean });
            },
        };
        var result = await host.RunAsync(command, options, cancellationToken).ConfigureAwait(false);
        lock (gate)
        {
            return new ServiceCommandResult
            {
                Service = request.Service,
                ComputerName = host.ComputerName,
                User = host.User,
                WorkDir = request.WorkDir,
                Command = text.Clean(request.Display),
                RemoteCommand = text.Clean(command.Text),
                ExitCode = result.ExitCode,
                Output = [.. output],
                Error = [.. error],
                StartedAt = started,
                Duration = result.Duration,
            };
        }
    }
}
