using System.Collections.Concurrent;
using System.Runtime.Versioning;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Tests;

/// <summary>
/// This machine as a service's account would see it over SSH: every command runs for real through a
/// <see cref="LocalHost"/>, as <c>env HOME=&lt;home&gt; [PATH=...] /bin/sh -c &lt;command&gt;</c>.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal sealed class HomeHost(string home, string? path = null) : IRemoteHost
{
    private readonly LocalHost _local = new();

    public string ComputerName => _local.ComputerName;

    public string User => _local.User;

    public Task<CommandResult> RunAsync(ShellCommand command, CommandOptions options, CancellationToken cancellationToken) =>
        _local.RunAsync(
            path is null
                ? ShellCommand.Format($"env HOME={home} /bin/sh -c {command.Text}")
                : ShellCommand.Format($"env HOME={home} PATH={path} /bin/sh -c {command.Text}"),
            options,
            cancellationToken);

    public Task DownloadAsync(string remotePath, string localPath, CancellationToken cancellationToken) =>
        _local.DownloadAsync(remotePath, localPath, cancellationToken);

    public void Dispose() => _local.Dispose();
}

/// <summary>A reporter that keeps what it is told, for assertions.</summary>
internal sealed class RecordingReporter : IReporter
{
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly ConcurrentQueue<string> _verboses = new();
    private readonly ConcurrentQueue<string?> _finishings = new();

    public IReadOnlyList<string> Warnings => [.. _warnings];

    public IReadOnlyList<string> Verboses => [.. _verboses];

    /// <summary>What the work said it was finishing, in order (null: nothing any more).</summary>
    public IReadOnlyList<string?> Finishings => [.. _finishings];

    public void Finishing(string? what) => _finishings.Enqueue(what);

    public void Verbose(string message) => _verboses.Enqueue(message);

    public void Warning(string message) => _warnings.Enqueue(message);

    public void Progress(int activityId, string activity, string status, int percent)
    {
    }
}
