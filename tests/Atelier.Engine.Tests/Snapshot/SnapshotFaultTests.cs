using System.Globalization;
using System.Runtime.Versioning;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Tests.Snapshot;

/// <summary>
/// The snapshot script when things go wrong: ~/.atelier on a real 2 MiB tmpfs too small for the snapshot, and a TERM
/// while the tool runs. Nothing of a failed snapshot may stay in the snapshots folder.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SnapshotFaultTests : IDisposable
{
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly ServiceAccount _account = new();
    private Tmpfs? _tmpfs;

    public void Dispose()
    {
        _tmpfs?.Dispose();
        _account.Dispose();
    }

    [TmpfsFact("sqlite3")]
    public Task Sqlite3_onto_a_full_disk_fails_clearly_and_leaves_nothing() => Onto_a_full_disk(SnapshotTool.Sqlite3, "sqlite3");

    [TmpfsFact("python3")]
    public Task Python3_onto_a_full_disk_fails_clearly_and_leaves_nothing() => Onto_a_full_disk(SnapshotTool.Python3, "python3");

    [TmpfsFact("bun")]
    public Task Bun_onto_a_full_disk_fails_clearly_and_leaves_nothing() => Onto_a_full_disk(SnapshotTool.Bun, "bun");

    [RequiresToolFact("sqlite3")]
    public void A_TERM_while_the_tool_runs_leaves_nothing_and_the_temporary_is_named_per_run()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 50, wal: true);
        var bin = _account.Outside("bin");
        var sqlite3 = new PausingProgram(bin, "sqlite3", "*VACUUM\\ INTO*");
        using var run = new BackgroundCommand(
            RemoteSnapshotter.Command(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Tool: SnapshotTool.Sqlite3)),
            _account.Home,
            bin + ":" + Environment.GetEnvironmentVariable("PATH"));

        // VACUUM INTO has written the temporary; a tool killed half way would also leave its -journal (or -wal, -shm).
        var script = sqlite3.CallerPid;
        var temporary = Assert.Single(Directory.GetFiles(_account.Snapshots));
        foreach (var sibling in new[] { "-journal", "-wal", "-shm" })
        {
            File.WriteAllText(temporary + sibling, "left by a killed tool");
        }

        sqlite3.Interrupt();
        var result = run.WaitForExit();

        Assert.Equal(143, result.ExitCode);
        Assert.DoesNotContain("atelier-snapshot", result.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_account.Snapshots));
        Assert.Matches($@"^\.app\.\d{{8}}T\d{{9}}Z\.nocommit\.db\.{script}\.partial\z", Path.GetFileName(temporary));
    }

    private async Task Onto_a_full_disk(SnapshotTool tool, string toolName)
    {
        // About 6.5 MB of rows: the snapshot cannot fit in ~/.atelier, a 2 MiB file system (and, this big, sqlite3 made a
        // -journal beside the temporary before it found the disk full).
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 30_000, wal: true);
        _tmpfs = new Tmpfs(2 * 1024 * 1024, Path.Combine(_account.Home, ".atelier"));
        using var host = new HomeHost(_account.Home);
        var request = new SnapshotRequest(ServiceAccount.Name, "data/app.db", Tool: tool);

        var result = await host.RunAsync(RemoteSnapshotter.Command(request), Options, CancellationToken.None);
        var error = await Assert.ThrowsAsync<AtelierException>(() => new RemoteSnapshotter(host, Options).TakeAsync(request, CancellationToken.None));

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("atelier-snapshot", result.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(_account.Snapshots));
        Assert.InRange(_tmpfs.Available, 2 * 1024 * 1024 - (64 * 1024), 2 * 1024 * 1024);
        var size = new FileInfo(database).Length.ToString(CultureInfo.InvariantCulture);
        Assert.Contains($"atelier: the snapshot of {database} ({size} bytes) into {_account.Snapshots} with {toolName} failed (exit code {result.ExitCode}); ", result.Error, StringComparison.Ordinal);
        Assert.Matches(@"; \d+ bytes are free there\n\z", result.Error);
        Assert.Equal("SnapshotFailed", error.ErrorId);
        Assert.Contains($"with {toolName} failed", error.Message, StringComparison.Ordinal);
    }
}
