using System.Globalization;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Snapshot;

/// <summary>
/// Snapshots on a host, as the service's user: <c>VACUUM INTO</c> a temporary file with whichever of sqlite3, bun or
/// python3 the host has, <c>PRAGMA integrity_check</c>, rename (mode 0600, folder 0700), prune. One script, one
/// round trip; every value reaches it as a quoted positional argument.
/// </summary>
public sealed class RemoteSnapshotter : ISnapshotter
{
    private static readonly Lazy<string> Script = new(() => EmbeddedScript.Read("Atelier.Snapshot.snapshot.sh"));
    private readonly IRemoteHost _host;
    private readonly CommandOptions _options;

    public RemoteSnapshotter(IRemoteHost host, CommandOptions options)
    {
        _host = host;
        _options = options;
    }

    /// <summary>The snapshot command for a request (what runs on the host).</summary>
    public static ShellCommand Command(SnapshotRequest request, bool plan = false) =>
        ShellCommand.Script(
            Script.Value,
            RemoteValue.Path(request.DbPath, "database path"),
            request.Keep.ToString(CultureInfo.InvariantCulture),
            request.Tool.ToString().ToLowerInvariant(),
            plan ? "plan" : "run");

    public async Task<ServiceDbSnapshot> TakeAsync(SnapshotRequest request, CancellationToken cancellationToken) =>
        Read(await _host.RunAsync(Command(request), _options, cancellationToken).ConfigureAwait(false), request, _host.ComputerName);

    /// <summary>The snapshot a run of <see cref="Command"/> took, or the failure it reported.</summary>
    /// <exception cref="AtelierException">The snapshot failed (<c>SnapshotFailed</c>, <c>SnapshotToolMissing</c>, ...).</exception>
    public static ServiceDbSnapshot Read(CommandResult result, SnapshotRequest request, string computerName)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(request);
        if (!result.Succeeded)
        {
            throw Failure(result, request);
        }

        var line = result.Output.Split('\n').LastOrDefault(l => l.StartsWith("atelier-snapshot ", StringComparison.Ordinal))
            ?? throw new AtelierException("SnapshotFailed", FailureKind.OperationFailed, $"The snapshot script ended without naming the snapshot. Output:\n{result.Tail()}");
        var fields = line.Split(' ');
        var path = fields[1];
        if (!ServiceDbSnapshot.TryParseFileName(System.IO.Path.GetFileName(path), out var database, out var createdAt, out var commit))
        {
            throw new AtelierException("SnapshotFailed", FailureKind.OperationFailed, $"The snapshot script named an unexpected file: {path}");
        }

        return new ServiceDbSnapshot
        {
            Service = request.Service,
            ComputerName = computerName,
            Database = database,
            Path = path,
            CreatedAt = createdAt,
            Commit = commit,
            SizeBytes = long.Parse(fields[2], CultureInfo.InvariantCulture),
            Tool = fields[3],
            SourcePath = request.DbPath,
            Duration = result.Duration,
        };
    }

    public async Task<string> PlanAsync(SnapshotRequest request, CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(Command(request, plan: true), _options, cancellationToken).ConfigureAwait(false);
        if (!result.Succeeded)
        {
            throw Failure(result, request);
        }

        return result.Output.Trim().Replace("atelier-plan ", string.Empty, StringComparison.Ordinal);
    }

    public async Task<IReadOnlyList<ServiceDbSnapshot>> ListAsync(string service, string? database, CancellationToken cancellationToken)
    {
        var result = await _host.RunAsync(ListCommand(), _options, cancellationToken).ConfigureAwait(false);
        result.EnsureSuccess("Listing the snapshots");
        return ParseList(result.Output, service, _host.ComputerName, database);
    }

    /// <summary>The command that lists the snapshots folder: <c>&lt;size&gt; &lt;file name&gt;</c> lines, then <c>atelier-dir &lt;folder&gt;</c>.</summary>
    public static ShellCommand ListCommand() =>
        ShellCommand.Format($"dir=\"$HOME\"/.atelier/snapshots; [ -d \"$dir\" ] || exit 0; cd \"$dir\" && for f in *.db; do [ -f \"$f\" ] && stat -c '%s %n' \"$f\"; done; printf 'atelier-dir %s\\n' \"$dir\"");

    /// <summary>
    /// The snapshots that the output of <see cref="ListCommand"/> names, newest first (only those of
    /// <paramref name="database"/> when given); any other file or line is skipped.
    /// </summary>
    public static IReadOnlyList<ServiceDbSnapshot> ParseList(string output, string service, string computerName, string? database)
    {
        ArgumentNullException.ThrowIfNull(output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var folder = lines.LastOrDefault(l => l.StartsWith("atelier-dir ", StringComparison.Ordinal))?["atelier-dir ".Length..];
        var snapshots = new List<ServiceDbSnapshot>();
        foreach (var line in lines)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (folder is null || space < 0 || line.StartsWith("atelier-dir ", StringComparison.Ordinal))
            {
                continue;
            }

            var name = line[(space + 1)..];
            if (ServiceDbSnapshot.TryParseFileName(name, out var db, out var createdAt, out var commit) && (database is null || db == database)
                && long.TryParse(line[..space], System.Globalization.NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                snapshots.Add(new ServiceDbSnapshot
                {
                    Service = service,
                    ComputerName = computerName,
                    Database = db,
                    Path = folder + "/" + name,
                    CreatedAt = createdAt,
                    Commit = commit,
                    SizeBytes = size,
                });
            }
        }

        return snapshots.OrderByDescending(s => s.CreatedAt).ToList();
    }

    public Task<string> DownloadAsync(ServiceDbSnapshot snapshot, string destination, bool force, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return SnapshotDestination.WriteAsync(
            destination,
            System.IO.Path.GetFileName(snapshot.Path),
            force,
            (partial, cancellation) => _host.DownloadAsync(snapshot.Path, partial, cancellation),
            cancellationToken);
    }

    private static AtelierException Failure(CommandResult result, SnapshotRequest request) => result.ExitCode switch
    {
        69 => new AtelierException("SnapshotToolMissing", FailureKind.NotInstalled, result.Error.Trim().Replace("atelier: ", string.Empty, StringComparison.Ordinal)),
        66 => new AtelierException("DatabaseNotFound", FailureKind.NotFound, $"{request.Service}: " + result.Error.Trim().Replace("atelier: ", string.Empty, StringComparison.Ordinal)),
        65 => new AtelierException("SnapshotVerificationFailed", FailureKind.InvalidData, result.Error.Trim()),
        _ => new AtelierException("SnapshotFailed", FailureKind.OperationFailed, $"The snapshot of {request.DbPath} failed (exit code {result.ExitCode}):\n{result.Tail(10)}"),
    };
}
