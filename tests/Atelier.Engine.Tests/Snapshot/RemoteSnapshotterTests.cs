using System.Runtime.Versioning;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Tests.Shell;
using Atelier.Transport;

namespace Atelier.Tests.Snapshot;

/// <summary>
/// The snapshot script <see cref="RemoteSnapshotter.Command"/> sends to a host, run for real by a local
/// <c>/bin/sh</c> with HOME pointed at a temp service home.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class RemoteSnapshotterTests : IDisposable
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly ServiceAccount _account = new();

    public void Dispose() => _account.Dispose();

    [Fact]
    public void The_command_is_sh_c_with_the_script_and_quoted_arguments()
    {
        var text = RemoteSnapshotter.Command(new SnapshotRequest("web", "~/data/app.db", Keep: 3, Tool: SnapshotTool.Python3)).Text;

        Assert.StartsWith("sh -c '# ", text, StringComparison.Ordinal);
        Assert.Contains("\nset -eu\n", text, StringComparison.Ordinal);
        Assert.EndsWith("' atelier '~/data/app.db' 3 python3 run", text, StringComparison.Ordinal);
        Assert.EndsWith(" plan", RemoteSnapshotter.Command(new SnapshotRequest("web", "data/app.db"), plan: true).Text, StringComparison.Ordinal);
        Assert.EndsWith("' atelier data/app.db 5 auto run", RemoteSnapshotter.Command(new SnapshotRequest("web", "data/app.db")).Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("$(touch /tmp/x).db")]
    [InlineData("a;b.db")]
    [InlineData("-rf")]
    [InlineData("~other/app.db")]
    public void A_hostile_database_path_is_refused_before_any_command(string dbPath)
    {
        var ex = Assert.Throws<RemoteValueException>(() => RemoteSnapshotter.Command(new SnapshotRequest("web", dbPath)));

        Assert.Equal("database path", ex.What);
    }

    [RequiresToolFact("sqlite3")]
    public Task Sqlite3_takes_a_private_verified_snapshot() => Takes_a_private_verified_snapshot(SnapshotTool.Sqlite3, "sqlite3");

    [RequiresToolFact("python3")]
    public Task Python3_takes_a_private_verified_snapshot() => Takes_a_private_verified_snapshot(SnapshotTool.Python3, "python3");

    [RequiresToolFact("sqlite3")]
    public Task Sqlite3_keeps_only_the_newest_snapshots_of_the_database() => Keeps_only_the_newest(SnapshotTool.Sqlite3);

    [RequiresToolFact("python3")]
    public Task Python3_keeps_only_the_newest_snapshots_of_the_database() => Keeps_only_the_newest(SnapshotTool.Python3);

    [RequiresToolFact("sqlite3")]
    public Task Sqlite3_snapshots_of_a_database_being_written_hold_every_committed_row() => Snapshots_while_writing(SnapshotTool.Sqlite3);

    [RequiresToolFact("python3")]
    public Task Python3_snapshots_of_a_database_being_written_hold_every_committed_row() => Snapshots_while_writing(SnapshotTool.Python3);

    [RequiresToolFact("python3")]
    public async Task A_home_based_path_and_a_sqlite_extension_are_understood()
    {
        TestDatabase.Create(_account.InHome("data/my.app.sqlite"), rows: 7);

        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "~/data/my.app.sqlite", Tool: SnapshotTool.Python3));

        Assert.Equal(0, result.ExitCode);
        var path = SnapshotLine(result)[1];
        Assert.True(ServiceDbSnapshot.TryParseFileName(Path.GetFileName(path), out var database, out _, out _));
        Assert.Equal("my.app", database);
        Assert.Equal(7, TestDatabase.Scalar(path, "SELECT count(*) FROM t"));
    }

    [RequiresToolFact("python3")]
    public async Task The_script_names_a_database_as_DatabaseName_does()
    {
        TestDatabase.Create(_account.InHome("data/x.sqlite.db"), rows: 1);

        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/x.sqlite.db", Tool: SnapshotTool.Python3));

        Assert.True(ServiceDbSnapshot.TryParseFileName(Path.GetFileName(SnapshotLine(result)[1]), out var database, out _, out _));
        Assert.Equal(ServiceDbSnapshot.DatabaseName("data/x.sqlite.db"), database);
    }

    [RequiresToolFact("python3")]
    public async Task TakeAsync_reads_the_snapshot_line_back()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 12);
        using var host = new HomeHost(_account.Home);
        var snapshotter = new RemoteSnapshotter(host, Options);

        var snapshot = await snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Tool: SnapshotTool.Python3), CancellationToken.None);

        Assert.Equal(ServiceAccount.Name, snapshot.Service);
        Assert.Equal("localhost", snapshot.ComputerName);
        Assert.Equal("app", snapshot.Database);
        Assert.Equal("python3", snapshot.Tool);
        Assert.Equal("nocommit", snapshot.Commit);
        Assert.Equal("data/app.db", snapshot.SourcePath);
        Assert.Equal(_account.Snapshots, Path.GetDirectoryName(snapshot.Path));
        Assert.Equal(new FileInfo(snapshot.Path).Length, snapshot.SizeBytes);

        var listed = await snapshotter.ListAsync(ServiceAccount.Name, "app", CancellationToken.None);
        Assert.Equal([snapshot.Path], listed.Select(s => s.Path));
        Assert.Equal(snapshot.CreatedAt, listed[0].CreatedAt);
        Assert.Empty(await snapshotter.ListAsync(ServiceAccount.Name, "other", CancellationToken.None));

        var local = await snapshotter.DownloadAsync(snapshot, _account.Outside("downloads"), force: false, CancellationToken.None);
        Assert.Equal(12, TestDatabase.Scalar(local, "SELECT count(*) FROM t"));
        Assert.Equal(Path.Combine(_account.Outside("downloads"), Path.GetFileName(snapshot.Path)), local);
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(local));
        Assert.Equal([local], Directory.GetFiles(_account.Outside("downloads")));
    }

    [RequiresToolFact("python3")]
    public async Task Plan_mode_names_the_snapshot_and_creates_nothing()
    {
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 1);
        using var host = new HomeHost(_account.Home);

        var plan = await new RemoteSnapshotter(host, Options).PlanAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Keep: 4, Tool: SnapshotTool.Python3), CancellationToken.None);

        Assert.StartsWith($"{database} -> {_account.Snapshots}/app.", plan, StringComparison.Ordinal);
        Assert.EndsWith(".nocommit.db with python3, keeping 4", plan, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_account.Home, ".atelier")));
    }

    [Fact]
    public async Task A_missing_tool_exits_69_with_a_clear_message()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 1);

        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Tool: SnapshotTool.Bun), OnlyShOnPath());

        Assert.Equal(69, result.ExitCode);
        Assert.Contains("atelier: cannot snapshot: no SQLite tool on this host", result.Error, StringComparison.Ordinal);
        Assert.Contains("wanted: bun", result.Error, StringComparison.Ordinal);
        Assert.Contains($"for user {Sh.Exec("id", ["-un"]).Output.Trim()} ", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("atelier-snapshot", result.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_account.Home, ".atelier")));
    }

    [Fact]
    public async Task With_no_tool_at_all_auto_exits_69_too()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 1);

        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), OnlyShOnPath());

        Assert.Equal(69, result.ExitCode);
        Assert.Contains("looked for: sqlite3 3.27+, bun, python3", result.Error, StringComparison.Ordinal);
        Assert.Contains("wanted: auto", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TakeAsync_turns_exit_69_into_SnapshotToolMissing()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 1);
        using var host = new HomeHost(_account.Home, OnlyShOnPath());

        var ex = await Assert.ThrowsAsync<AtelierException>(() => new RemoteSnapshotter(host, Options).TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Tool: SnapshotTool.Bun), CancellationToken.None));

        Assert.Equal("SnapshotToolMissing", ex.ErrorId);
        Assert.Equal(FailureKind.NotInstalled, ex.Kind);
        Assert.StartsWith("cannot snapshot: no SQLite tool on this host", ex.Message, StringComparison.Ordinal);
    }

    [RequiresToolFact("python3")]
    public async Task A_missing_database_exits_66_and_TakeAsync_says_DatabaseNotFound()
    {
        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/missing.db", Tool: SnapshotTool.Python3));
        using var host = new HomeHost(_account.Home);
        var ex = await Assert.ThrowsAsync<AtelierException>(() => new RemoteSnapshotter(host, Options).TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/missing.db", Tool: SnapshotTool.Python3), CancellationToken.None));

        Assert.Equal(66, result.ExitCode);
        Assert.Equal($"atelier: no database file at {_account.InHome("data/missing.db")}\n", result.Error);
        Assert.Equal("DatabaseNotFound", ex.ErrorId);
        Assert.Equal($"{ServiceAccount.Name}: no database file at {_account.InHome("data/missing.db")}", ex.Message);
    }

    [RequiresToolFact("python3")]
    public async Task A_file_that_is_not_a_database_fails_and_leaves_no_partial_file()
    {
        File.WriteAllText(_account.InHome("broken.db"), string.Concat(Enumerable.Repeat("not a database\n", 500)));

        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "broken.db", Tool: SnapshotTool.Python3));

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("atelier-snapshot", result.Output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(_account.Snapshots, "*", SearchOption.AllDirectories));
    }

    private async Task Takes_a_private_verified_snapshot(SnapshotTool tool, string toolName)
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 64, wal: true);

        var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Tool: tool));

        Assert.True(result.ExitCode == 0, result.Error);
        var fields = SnapshotLine(result);
        var path = fields[1];
        Assert.Equal(6, fields.Length);
        Assert.Equal(_account.Snapshots, Path.GetDirectoryName(path));
        Assert.Equal(new FileInfo(path).Length.ToString(System.Globalization.CultureInfo.InvariantCulture), fields[2]);
        Assert.Equal(toolName, fields[3]);
        Assert.Equal("nocommit", fields[4]);
        Assert.Equal($"app.{fields[5]}.nocommit.db", Path.GetFileName(path));
        Assert.True(ServiceDbSnapshot.TryParseFileName(Path.GetFileName(path), out var database, out var createdAt, out _));
        Assert.Equal("app", database);
        Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        SqliteFile.Verify(path);
        Assert.Equal(64, TestDatabase.Scalar(path, "SELECT count(*) FROM t"));
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Path.Combine(_account.Home, ".atelier")));
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(_account.Snapshots));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_account.Snapshots).Select(f => Path.GetFileName(f)));
    }

    private async Task Snapshots_while_writing(SnapshotTool tool)
    {
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 100, wal: true);
        using var writer = new ContinuousWriter(database, firstId: 101);

        for (var i = 0; i < 3; i++)
        {
            writer.WaitForRows(TestDatabase.Scalar(database, "SELECT max(id) FROM t") + 20);
            var committed = TestDatabase.Scalar(database, "SELECT max(id) FROM t");

            var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Keep: 10, Tool: tool));

            Assert.True(result.ExitCode == 0, result.Error);
            var path = SnapshotLine(result)[1];
            Assert.Equal("ok", SqliteFile.IntegrityCheck(path));
            Assert.Equal(committed, TestDatabase.Scalar(path, $"SELECT count(*) FROM t WHERE id <= {committed}"));
        }

        writer.Stop();
    }

    private async Task Keeps_only_the_newest(SnapshotTool tool)
    {
        TestDatabase.Create(_account.InHome("data/app.v2.db"), rows: 3);
        Directory.CreateDirectory(_account.Snapshots);
        // Names a sloppy pattern would take for app.v2's: they must survive the pruning.
        string[] others = ["appXv2.20200101T000000000Z.nocommit.db", "app.v2.db.20200101T000000000Z.nocommit.db", "other.20200101T000000000Z.nocommit.db"];
        foreach (var other in others)
        {
            File.WriteAllText(Path.Combine(_account.Snapshots, other), "x");
        }

        var taken = new List<string>();
        var pruned = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var result = await RunAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.v2.db", Keep: 2, Tool: tool));
            Assert.True(result.ExitCode == 0, result.Error);
            taken.Add(SnapshotLine(result)[1]);
            pruned.AddRange(result.Output.Split('\n').Where(l => l.StartsWith("pruned ", StringComparison.Ordinal)).Select(l => l["pruned ".Length..]));
        }

        var expected = taken.TakeLast(2).Select(p => Path.GetFileName(p)).Concat(others).Order(StringComparer.Ordinal);
        Assert.Equal(expected, Directory.GetFiles(_account.Snapshots).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal));
        Assert.Equal(taken.Take(2), pruned);
    }

    private static string[] SnapshotLine(CommandResult result)
    {
        var line = result.Output.Split('\n').Single(l => l.StartsWith("atelier-snapshot ", StringComparison.Ordinal));
        return line.Split(' ');
    }

    /// <summary>A PATH holding only <c>sh</c> and <c>id</c>: no sqlite3, bun or python3.</summary>
    private string OnlyShOnPath()
    {
        var bin = _account.Outside("bin");
        File.CreateSymbolicLink(Path.Combine(bin, "sh"), "/bin/sh");
        File.CreateSymbolicLink(Path.Combine(bin, "id"), Sh.Run("command -v id").Output.Trim());
        return bin;
    }

    private async Task<CommandResult> RunAsync(SnapshotRequest request, string? path = null)
    {
        using var host = new HomeHost(_account.Home, path);
        return await host.RunAsync(RemoteSnapshotter.Command(request), Options, CancellationToken.None);
    }
}
