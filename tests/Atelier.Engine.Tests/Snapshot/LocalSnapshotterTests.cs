using System.Runtime.Versioning;
using Atelier.Shell;
using Atelier.Snapshot;
using Atelier.Tests.Shell;
using Microsoft.Data.Sqlite;

namespace Atelier.Tests.Snapshot;

/// <summary><see cref="LocalSnapshotter"/> on real databases in a temp service home.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class LocalSnapshotterTests : IDisposable
{
    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private readonly ServiceAccount _account = new();
    private readonly LocalSnapshotter _snapshotter;

    public LocalSnapshotterTests() => _snapshotter = new LocalSnapshotter(_account.PasswdFile);

    public void Dispose() => _account.Dispose();

    [Fact]
    public async Task Snapshots_of_a_database_being_written_are_sound_and_hold_every_committed_row()
    {
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 100, wal: true);
        using var writer = new ContinuousWriter(database, firstId: 101);

        for (var i = 0; i < 10; i++)
        {
            writer.WaitForRows(TestDatabase.Scalar(database, "SELECT max(id) FROM t") + 20);
            var committed = TestDatabase.Scalar(database, "SELECT max(id) FROM t");

            var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Keep: 20), CancellationToken.None);

            Assert.Equal("ok", SqliteFile.IntegrityCheck(snapshot.Path));
            Assert.Equal(committed, TestDatabase.Scalar(snapshot.Path, $"SELECT count(*) FROM t WHERE id <= {committed}"));
            var inSnapshot = TestDatabase.Scalar(snapshot.Path, "SELECT count(*) FROM t");
            Assert.Equal(inSnapshot, TestDatabase.Scalar(snapshot.Path, "SELECT max(id) FROM t"));
        }

        writer.Stop();
        Assert.True(writer.Written > 200, $"the writer wrote only {writer.Written} rows");
        Assert.Equal(10, (await _snapshotter.ListAsync(ServiceAccount.Name, "app", CancellationToken.None)).Count);
    }

    [Fact]
    public async Task A_snapshot_is_described_and_kept_private()
    {
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 50);
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);

        Assert.Equal(ServiceAccount.Name, snapshot.Service);
        Assert.Equal("localhost", snapshot.ComputerName);
        Assert.Equal("app", snapshot.Database);
        Assert.Equal("nocommit", snapshot.Commit);
        Assert.Equal("Microsoft.Data.Sqlite", snapshot.Tool);
        Assert.Equal(database, snapshot.SourcePath);
        Assert.Equal(_account.Snapshots, Path.GetDirectoryName(snapshot.Path));
        Assert.Equal(ServiceDbSnapshot.FileName("app", snapshot.CreatedAt, "nocommit"), Path.GetFileName(snapshot.Path));
        Assert.InRange(snapshot.CreatedAt, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal(new FileInfo(snapshot.Path).Length, snapshot.SizeBytes);
        Assert.NotNull(snapshot.Duration);
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(Path.Combine(_account.Home, ".atelier")));
        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(_account.Snapshots));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(snapshot.Path));
        Assert.Equal(50, TestDatabase.Scalar(snapshot.Path, "SELECT count(*) FROM t"));
        Assert.Equal([Path.GetFileName(snapshot.Path)], Directory.GetFiles(_account.Snapshots).Select(f => Path.GetFileName(f)));
    }

    [Fact]
    public async Task An_existing_snapshot_folder_is_made_private_again()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 5);
        Directory.CreateDirectory(_account.Snapshots);
        File.SetUnixFileMode(_account.Snapshots, OwnerOnlyFolder | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

        await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);

        Assert.Equal(OwnerOnlyFolder, File.GetUnixFileMode(_account.Snapshots));
    }

    [Theory]
    [InlineData("data/app.db")]
    [InlineData("~/data/app.db")]
    [InlineData("ABSOLUTE")]
    public async Task The_database_path_may_be_relative_to_home_home_based_or_absolute(string dbPath)
    {
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);
        dbPath = dbPath == "ABSOLUTE" ? database : dbPath;

        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, dbPath), CancellationToken.None);

        Assert.Equal(database, snapshot.SourcePath);
        Assert.Equal(3, TestDatabase.Scalar(snapshot.Path, "SELECT count(*) FROM t"));
    }

    [Fact]
    public async Task The_deployed_commit_names_the_snapshot()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);
        var app = _account.InHome("app");
        Directory.CreateDirectory(app);
        Assert.Equal(0, Sh.Exec("git", ["-C", app, "init", "-q"]).ExitCode);
        Assert.Equal(0, Sh.Exec("git", ["-C", app, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "x"]).ExitCode);
        var head = Sh.Exec("git", ["-C", app, "rev-parse", "--short=12", "HEAD"]).Output.Trim();

        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);

        Assert.Equal(12, head.Length);
        Assert.Equal(head, snapshot.Commit);
        Assert.EndsWith($".{head}.db", snapshot.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_git_that_hangs_is_killed_at_its_time_limit_and_the_snapshot_has_no_commit()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);
        Directory.CreateDirectory(_account.InHome("app"));
        var pidFile = _account.InHome("git-child.pid");
        var git = _account.InHome("bin/git");
        Directory.CreateDirectory(Path.GetDirectoryName(git)!);
        File.WriteAllText(git, $"#!/bin/sh\nsleep 300 &\necho $! > {pidFile}\nwait\n");
        File.SetUnixFileMode(git, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var snapshotter = new LocalSnapshotter(_account.PasswdFile, git, TimeSpan.FromMilliseconds(500));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var snapshot = await snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);

        Assert.Equal("nocommit", snapshot.Commit);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(8));
        var child = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (File.Exists($"/proc/{child}/stat") && File.ReadAllText($"/proc/{child}/stat").Split(' ')[2] is not ("Z" or "X"))
        {
            Assert.True(DateTime.UtcNow < deadline, $"git's child {child} still runs");
            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task Without_git_the_snapshot_has_no_commit()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);
        Directory.CreateDirectory(_account.InHome("app"));
        var snapshotter = new LocalSnapshotter(_account.PasswdFile, _account.InHome("no-git-here"), TimeSpan.FromSeconds(10));

        var snapshot = await snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);

        Assert.Equal("nocommit", snapshot.Commit);
    }

    [Fact]
    public async Task Keep_prunes_all_but_the_newest_snapshots_of_that_database()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);
        TestDatabase.Create(_account.InHome("data/other.sqlite"), rows: 3);
        var other = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/other.sqlite"), CancellationToken.None);
        var taken = new List<ServiceDbSnapshot>();

        for (var i = 0; i < 5; i++)
        {
            taken.Add(await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Keep: 3), CancellationToken.None));
        }

        var kept = Directory.GetFiles(_account.Snapshots).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal).ToList();
        var expected = taken.TakeLast(3).Select(s => Path.GetFileName(s.Path)).Append(Path.GetFileName(other.Path)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, kept);
    }

    [Fact]
    public async Task Back_to_back_snapshots_each_get_their_own_file()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 1);

        for (var i = 0; i < 30; i++)
        {
            await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db", Keep: 100), CancellationToken.None);
        }

        Assert.Equal(30, Directory.GetFiles(_account.Snapshots).Length);
    }

    [Fact]
    public async Task ListAsync_gives_snapshots_newest_first_and_filters_by_database()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);
        TestDatabase.Create(_account.InHome("data/other.sqlite3"), rows: 3);
        var taken = new List<ServiceDbSnapshot>();
        foreach (var path in new[] { "data/app.db", "data/other.sqlite3", "data/app.db", "data/other.sqlite3", "data/app.db" })
        {
            taken.Add(await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, path), CancellationToken.None));
        }

        File.WriteAllText(Path.Combine(_account.Snapshots, "notes.db"), "not a snapshot");
        File.WriteAllText(Path.Combine(_account.Snapshots, ".app.20240101T000000000Z.abc.db.partial"), "partial");

        var all = await _snapshotter.ListAsync(ServiceAccount.Name, null, CancellationToken.None);
        var apps = await _snapshotter.ListAsync(ServiceAccount.Name, "app", CancellationToken.None);
        var others = await _snapshotter.ListAsync(ServiceAccount.Name, "other", CancellationToken.None);

        Assert.Equal(taken.Select(s => s.Path).Reverse(), all.Select(s => s.Path));
        Assert.Equal(taken.Where(s => s.Database == "app").Select(s => s.Path).Reverse(), apps.Select(s => s.Path));
        Assert.Equal(taken.Where(s => s.Database == "other").Select(s => s.Path).Reverse(), others.Select(s => s.Path));
        Assert.All(all, s => Assert.Equal(ServiceAccount.Name, s.Service));
        Assert.All(all, s => Assert.Equal(new FileInfo(s.Path).Length, s.SizeBytes));
        Assert.Equal(taken[^1].CreatedAt, all[0].CreatedAt);
        Assert.Empty(await _snapshotter.ListAsync(ServiceAccount.Name, "nothing", CancellationToken.None));
    }

    [Fact]
    public async Task ListAsync_before_any_snapshot_is_empty()
    {
        Assert.Empty(await _snapshotter.ListAsync(ServiceAccount.Name, null, CancellationToken.None));
        Assert.False(Directory.Exists(_account.Snapshots));
    }

    [Fact]
    public async Task A_missing_database_is_DatabaseNotFound_and_leaves_no_file()
    {
        var ex = await Assert.ThrowsAsync<AtelierException>(() => _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/missing.db"), CancellationToken.None));

        Assert.Equal("DatabaseNotFound", ex.ErrorId);
        Assert.Equal(FailureKind.NotFound, ex.Kind);
        Assert.Contains(_account.InHome("data/missing.db"), ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_account.Snapshots));
    }

    [Fact]
    public async Task A_file_that_is_not_a_database_fails_and_leaves_no_snapshot()
    {
        File.WriteAllText(_account.InHome("broken.db"), string.Concat(Enumerable.Repeat("not a database\n", 500)));

        await Assert.ThrowsAsync<SqliteException>(() => _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "broken.db"), CancellationToken.None));

        Assert.Empty(Directory.GetFiles(_account.Snapshots));
    }

    [Theory]
    [InlineData("svc", "$(id).db")]
    [InlineData("svc", "~other/app.db")]
    [InlineData("a;id", "data/app.db")]
    [InlineData("svc\n", "data/app.db")]
    public async Task Hostile_names_are_refused(string service, string dbPath)
    {
        await Assert.ThrowsAsync<RemoteValueException>(() => _snapshotter.TakeAsync(new SnapshotRequest(service, dbPath), CancellationToken.None));
    }

    [Fact]
    public async Task PlanAsync_says_what_would_happen_and_changes_nothing()
    {
        var database = TestDatabase.Create(_account.InHome("data/app.db"), rows: 3);

        var plan = await _snapshotter.PlanAsync(new SnapshotRequest(ServiceAccount.Name, "~/data/app.db", Keep: 7), CancellationToken.None);

        Assert.Equal($"{database} -> {_account.Snapshots} with Microsoft.Data.Sqlite, keeping 7", plan);
        Assert.False(Directory.Exists(Path.Combine(_account.Home, ".atelier")));
    }

    [Fact]
    public async Task DownloadAsync_to_a_folder_copies_and_verifies()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 40);
        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);
        var destination = _account.Outside("downloads");

        var local = await _snapshotter.DownloadAsync(snapshot, destination, force: false, CancellationToken.None);

        Assert.Equal(Path.Combine(destination, Path.GetFileName(snapshot.Path)), local);
        Assert.Equal(await File.ReadAllBytesAsync(snapshot.Path), await File.ReadAllBytesAsync(local));
        Assert.Equal(40, TestDatabase.Scalar(local, "SELECT count(*) FROM t"));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(local));
        Assert.Equal([local], Directory.GetFiles(destination));
    }

    [Fact]
    public async Task DownloadAsync_onto_an_existing_file_replaces_only_a_database_and_only_with_force()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 6);
        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);
        var text = _account.Outside("downloads") + "/notes.txt";
        File.WriteAllText(text, "not a database");
        var earlier = TestDatabase.Create(_account.Outside("downloads") + "/latest.db", rows: 1);

        var notDatabase = await Assert.ThrowsAsync<AtelierException>(() => _snapshotter.DownloadAsync(snapshot, text, force: true, CancellationToken.None));
        var exists = await Assert.ThrowsAsync<AtelierException>(() => _snapshotter.DownloadAsync(snapshot, earlier, force: false, CancellationToken.None));
        Assert.Equal(1, TestDatabase.Scalar(earlier, "SELECT count(*) FROM t"));
        await _snapshotter.DownloadAsync(snapshot, earlier, force: true, CancellationToken.None);

        Assert.Equal("DestinationNotDatabase", notDatabase.ErrorId);
        Assert.Equal("not a database", File.ReadAllText(text));
        Assert.Equal("DestinationExists", exists.ErrorId);
        Assert.Equal(6, TestDatabase.Scalar(earlier, "SELECT count(*) FROM t"));
        Assert.Equal(OwnerOnlyFile, File.GetUnixFileMode(earlier));
    }

    [Fact]
    public async Task DownloadAsync_to_a_file_name_uses_that_name()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 4);
        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);
        var target = Path.Combine(_account.Outside("downloads"), "copy.db");

        Assert.Equal(target, await _snapshotter.DownloadAsync(snapshot, target, force: false, CancellationToken.None));
        Assert.Equal(4, TestDatabase.Scalar(target, "SELECT count(*) FROM t"));
    }

    [Fact]
    public async Task DownloadAsync_of_a_damaged_snapshot_fails_verification()
    {
        TestDatabase.Create(_account.InHome("data/app.db"), rows: 4);
        var snapshot = await _snapshotter.TakeAsync(new SnapshotRequest(ServiceAccount.Name, "data/app.db"), CancellationToken.None);
        File.WriteAllText(snapshot.Path, string.Concat(Enumerable.Repeat("damaged\n", 1000)));

        var ex = await Assert.ThrowsAsync<AtelierException>(() => _snapshotter.DownloadAsync(snapshot, _account.Outside("downloads"), force: false, CancellationToken.None));

        Assert.Equal("SnapshotVerificationFailed", ex.ErrorId);
    }
}
