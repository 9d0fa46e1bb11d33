using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.Shell;
using Atelier.Tests.Snapshot;
using Atelier.Tests.Transport;
using Atelier.Transport;

namespace Atelier.Tests.Deploy;

/// <summary>
/// <c>restore-db.sh</c> as <see cref="DatabaseRestore"/> sends it, run for real by a local <c>/bin/sh</c> with HOME
/// pointed at a temp service home: the restore, its failures (a real full tmpfs, a failed rename, TERM half way), and
/// the space check that runs before anything is stopped.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class DatabaseRestoreTests : IDisposable
{
    private const int KiB = 1024;
    private const int MiB = 1024 * 1024;
    private static readonly CommandOptions Options = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly string[] LiveNames = ["app.db", "app.db-wal", "app.db-shm"];
    private readonly TempFolder _temp = new();
    private Tmpfs? _tmpfs;

    public DatabaseRestoreTests()
    {
        Home = Directory.CreateDirectory(_temp.Combine("home")).FullName;
        Data = Directory.CreateDirectory(_temp.Combine("home", "data")).FullName;
    }

    private string Home { get; }

    /// <summary>The database's folder, <c>~/data</c> (a tmpfs in the full-disk cases).</summary>
    private string Data { get; }

    private string Db => Path.Combine(Data, "app.db");

    public void Dispose()
    {
        _tmpfs?.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void The_commands_run_the_embedded_script_with_quoted_arguments()
    {
        var restore = DatabaseRestore.Command("/var/lib/demo/.atelier/snapshots/demo.20240101T000000000Z.abc.db", "/var/lib/demo/data/demo.db", "0123abcz");
        var check = DatabaseRestore.SpaceCheckCommand("~/.atelier/snapshots/demo.20240101T000000000Z.abc.db", "data/demo.db");

        Assert.StartsWith("sh -c '# ", restore.Text, StringComparison.Ordinal);
        Assert.Contains("\nset -eu\n", restore.Text, StringComparison.Ordinal);
        Assert.EndsWith("' atelier restore /var/lib/demo/.atelier/snapshots/demo.20240101T000000000Z.abc.db /var/lib/demo/data/demo.db 0123abcz", restore.Text, StringComparison.Ordinal);
        Assert.EndsWith("' atelier check '~/.atelier/snapshots/demo.20240101T000000000Z.abc.db' data/demo.db", check.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ABC")]
    [InlineData("a-b")]
    [InlineData("a;b")]
    [InlineData("../x")]
    [InlineData("")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public void A_bad_tag_is_refused_before_any_command(string tag)
    {
        var ex = Assert.Throws<RemoteValueException>(() => DatabaseRestore.Command("/s.db", "/d.db", tag));

        Assert.Equal("restore tag", ex.What);
    }

    [Fact]
    public void Hostile_paths_are_refused_before_any_command()
    {
        Assert.Equal("snapshot path", Assert.Throws<RemoteValueException>(() => DatabaseRestore.Command("$(id).db", "/d.db", "a")).What);
        Assert.Equal("database path", Assert.Throws<RemoteValueException>(() => DatabaseRestore.Command("/s.db", "a;b.db", "a")).What);
        Assert.Equal("snapshot path", Assert.Throws<RemoteValueException>(() => DatabaseRestore.SpaceCheckCommand("-rf", "/d.db")).What);
        Assert.Equal("database path", Assert.Throws<RemoteValueException>(() => DatabaseRestore.SpaceCheckCommand("/s.db", "~other/d.db")).What);
    }

    [Fact]
    public async Task A_restore_puts_the_snapshot_in_place_with_the_database_mode_and_drops_its_wal_and_shm()
    {
        var snapshot = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 10);
        TestDatabase.Create(Db, rows: 20);
        File.SetUnixFileMode(Db, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        File.WriteAllText(Db + "-wal", "the live database's wal");
        File.WriteAllText(Db + "-shm", "the live database's shm");

        var result = await RunAsync(DatabaseRestore.Command(snapshot, "~/data/app.db", "t1"));

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal($"restored {Db} from {snapshot}\n", result.Output);
        Assert.Equal(File.ReadAllBytes(snapshot), File.ReadAllBytes(Db));
        Assert.Equal(10, TestDatabase.Scalar(Db, "SELECT count(*) FROM t"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(Db));
        Assert.Equal(["app.db"], Names(Data));
    }

    [Fact]
    public async Task A_missing_snapshot_exits_66_and_leaves_the_database_alone()
    {
        var before = LiveFiles();

        var result = await RunAsync(DatabaseRestore.Command(_temp.Combine("gone.db"), Db, "t1"));

        Assert.Equal(DatabaseRestore.SnapshotMissingExitCode, result.ExitCode);
        Assert.Equal($"atelier: the snapshot {_temp.Combine("gone.db")} is gone\n", result.Error);
        AssertUnchanged(before);
    }

    [TmpfsFact]
    public async Task A_copy_that_fills_the_disk_exits_74_leaving_no_temporary_and_the_database_and_wal_as_they_were()
    {
        MountData(2 * MiB);
        var before = LiveFiles(db: 700 * KiB, wal: 300 * KiB);
        var others = Tmpfs.RandomFile(Db + ".atelier-restore.other", 64 * KiB);
        var othersBytes = File.ReadAllBytes(others);
        var available = _tmpfs!.Available;
        var snapshot = Tmpfs.RandomFile(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), 3 * MiB);

        var result = await RunAsync(DatabaseRestore.Command(snapshot, Db, "mine"));

        Assert.Equal(DatabaseRestore.WriteFailedExitCode, result.ExitCode);
        AssertUnchanged(before, "app.db.atelier-restore.other");
        Assert.Equal(othersBytes, File.ReadAllBytes(others));
        Assert.Equal(available, _tmpfs.Available);
        Assert.Contains("No space left on device", result.Error, StringComparison.Ordinal);
        Assert.EndsWith($"atelier: could not write the copy {Db}.atelier-restore.mine of {snapshot} (is the disk full?); the database is untouched\n", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task A_rename_that_fails_exits_73_and_puts_the_wal_and_shm_back()
    {
        // A folder where the database should be: the copy and the setting aside work, the rename over it cannot.
        Directory.CreateDirectory(Path.Combine(Db, "inside"));
        File.WriteAllText(Db + "-wal", "the live database's wal");
        File.WriteAllText(Db + "-shm", "the live database's shm");
        var snapshot = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 1);

        var result = await RunAsync(DatabaseRestore.Command(snapshot, Db, "t1"));

        Assert.Equal(DatabaseRestore.PlaceFailedExitCode, result.ExitCode);
        Assert.EndsWith($"atelier: could not rename {Db}.atelier-restore.t1 over {Db}; the database is untouched\n", result.Error, StringComparison.Ordinal);
        Assert.Equal("the live database's wal", File.ReadAllText(Db + "-wal"));
        Assert.Equal("the live database's shm", File.ReadAllText(Db + "-shm"));
        Assert.Equal(["app.db", "app.db-shm", "app.db-wal"], Names(Data));
        Assert.Equal(["inside"], Names(Db));
    }

    [Fact]
    public void A_TERM_while_the_copy_is_written_leaves_no_temporary_and_the_database_as_it_was()
    {
        var before = LiveFiles();
        var snapshot = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 10);
        var bin = _temp.Combine("bin");
        var cp = new PausingProgram(bin, "cp", "*");
        using var run = new BackgroundCommand(DatabaseRestore.Command(snapshot, Db, "t1"), Home, bin + ":" + Environment.GetEnvironmentVariable("PATH"));

        cp.WaitUntilPaused();
        Assert.True(File.Exists(Db + ".atelier-restore.t1"));
        cp.Interrupt();
        var result = run.WaitForExit();

        Assert.Equal(143, result.ExitCode);
        AssertUnchanged(before);
    }

    [Fact]
    public void A_TERM_after_the_wal_was_set_aside_puts_it_back()
    {
        var before = LiveFiles();
        var snapshot = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 10);
        var bin = _temp.Combine("bin");
        var mv = new PausingProgram(bin, "mv", "*-wal\\ *");
        using var run = new BackgroundCommand(DatabaseRestore.Command(snapshot, Db, "t1"), Home, bin + ":" + Environment.GetEnvironmentVariable("PATH"));

        mv.WaitUntilPaused();
        Assert.False(File.Exists(Db + "-wal"));
        Assert.True(File.Exists(Db + ".atelier-restore.t1-wal"));
        mv.Interrupt();
        var result = run.WaitForExit();

        Assert.Equal(143, result.ExitCode);
        AssertUnchanged(before);
    }

    [Fact]
    public async Task Two_restores_with_different_tags_never_touch_each_others_temporaries()
    {
        LiveFiles();
        var first = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 10);
        var second = TestDatabase.Create(_temp.Combine("snapshots", "app.20240102T000000000Z.abc.db"), rows: 20);
        var bin = _temp.Combine("bin");
        var cp = new PausingProgram(bin, "cp", "*");
        using var paused = new BackgroundCommand(DatabaseRestore.Command(first, Db, "first"), Home, bin + ":" + Environment.GetEnvironmentVariable("PATH"));
        cp.WaitUntilPaused();
        var firstCopy = File.ReadAllBytes(Db + ".atelier-restore.first");

        var result = await RunAsync(DatabaseRestore.Command(second, Db, "second"));

        Assert.True(result.ExitCode == 0, result.Error);
        Assert.Equal(firstCopy, File.ReadAllBytes(Db + ".atelier-restore.first"));
        Assert.Equal(["app.db", "app.db.atelier-restore.first"], Names(Data));
        cp.Interrupt();
        Assert.Equal(143, paused.WaitForExit().ExitCode);
        Assert.Equal(File.ReadAllBytes(second), File.ReadAllBytes(Db));
        Assert.Equal(["app.db"], Names(Data));
    }

    [Fact]
    public async Task The_script_refuses_a_bad_tag_itself()
    {
        var snapshot = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 1);

        var result = await RunAsync(ShellCommand.Script(EmbeddedScript.Read("Atelier.Deploy.restore-db.sh"), "restore", snapshot, Db, "../x"));

        Assert.Equal(DatabaseRestore.UsageExitCode, result.ExitCode);
        Assert.Equal("atelier: the restore tag '../x' must be 1 to 64 lowercase letters and digits\n", result.Error);
        Assert.Empty(Names(Data));
    }

    [TmpfsFact]
    public async Task The_space_check_refuses_a_snapshot_that_cannot_fit_and_says_by_how_much()
    {
        // 2 MiB with a 512 KiB database: 1.5 MiB free. A 1 MiB snapshot needs 1 MiB more as a margin: 2 MiB.
        MountData(2 * MiB);
        Tmpfs.RandomFile(Db, 512 * KiB);
        var snapshot = Tmpfs.RandomFile(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), MiB);

        var result = await RunAsync(DatabaseRestore.SpaceCheckCommand(snapshot, Db));
        var ex = Assert.Throws<AtelierException>(() => DatabaseRestore.CheckSpace(result, Db));

        Assert.Equal(DatabaseRestore.NoSpaceExitCode, result.ExitCode);
        Assert.Equal($"atelier-space needed={2 * MiB} available={3 * MiB / 2} snapshot={MiB} mount={Data}\n", result.Output);
        Assert.Equal("RestoreNoSpace", ex.ErrorId);
        Assert.Equal(FailureKind.ResourceUnavailable, ex.Kind);
        Assert.Equal($"The restore of {Db} needs 512.0 KiB more free space on {Data} (needs 2.0 MiB, 1.5 MiB free); nothing was stopped.", ex.Message);
    }

    [TmpfsFact]
    public async Task The_space_check_passes_a_snapshot_that_fits_and_the_restore_then_fits()
    {
        MountData(2 * MiB);
        var before = LiveFiles(db: 512 * KiB, wal: 64 * KiB);
        var snapshot = Tmpfs.RandomFile(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), 256 * KiB);

        var result = await RunAsync(DatabaseRestore.SpaceCheckCommand(snapshot, "~/data/app.db"));
        var space = DatabaseRestore.CheckSpace(result, "~/data/app.db");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(new RestoreSpace((256 * KiB) + MiB, (2 * MiB) - (512 * KiB) - (64 * KiB) - 4 * KiB, 256 * KiB, Data), space);
        Assert.True(space.Fits);
        AssertUnchanged(before);
        Assert.Equal(0, (await RunAsync(DatabaseRestore.Command(snapshot, Db, "t1"))).ExitCode);
        Assert.Equal(File.ReadAllBytes(snapshot), File.ReadAllBytes(Db));
    }

    [Fact]
    public async Task The_margin_is_2_percent_of_a_snapshot_over_50_MiB()
    {
        var snapshot = _temp.Combine("snapshots", "app.20240101T000000000Z.abc.db");
        Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
        using (var file = File.Create(snapshot))
        {
            file.SetLength(200L * MiB); // sparse: its size counts, not its blocks
        }

        var result = await RunAsync(DatabaseRestore.SpaceCheckCommand(snapshot, Db));

        Assert.StartsWith($"atelier-space needed={204L * MiB} available=", result.Output, StringComparison.Ordinal);
        Assert.Equal(204L * MiB, DatabaseRestore.NeededBytes(200L * MiB));
        Assert.Equal(MiB + 10, DatabaseRestore.NeededBytes(10));
    }

    [Fact]
    public async Task The_space_check_of_a_missing_snapshot_fails_clearly()
    {
        var gone = _temp.Combine("gone.db");

        var result = await RunAsync(DatabaseRestore.SpaceCheckCommand(gone, Db));
        var ex = Assert.Throws<AtelierException>(() => DatabaseRestore.CheckSpace(result, Db));

        Assert.Equal(DatabaseRestore.SnapshotMissingExitCode, result.ExitCode);
        Assert.Equal("SnapshotNotFound", ex.ErrorId);
        Assert.Equal(FailureKind.NotFound, ex.Kind);
        Assert.Equal($"The restore of {Db} cannot start: the snapshot {gone} is gone; nothing was stopped.", ex.Message);
    }

    [Fact]
    public async Task The_space_check_without_a_folder_for_the_database_fails_clearly()
    {
        var snapshot = TestDatabase.Create(_temp.Combine("snapshots", "app.20240101T000000000Z.abc.db"), rows: 1);

        var result = await RunAsync(DatabaseRestore.SpaceCheckCommand(snapshot, "~/nowhere/app.db"));
        var ex = Assert.Throws<AtelierException>(() => DatabaseRestore.CheckSpace(result, "~/nowhere/app.db"));

        Assert.Equal(DatabaseRestore.SpaceUnknownExitCode, result.ExitCode);
        Assert.Equal("RestoreSpaceCheckFailed", ex.ErrorId);
        Assert.StartsWith("The free space for the restore of ~/nowhere/app.db could not be checked (exit code 71); nothing was stopped:\n", ex.Message, StringComparison.Ordinal);
        Assert.EndsWith($"there is no folder {Home}/nowhere", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckSpace_reads_a_mount_point_with_spaces_and_words_sizes_like_a_person()
    {
        var result = new CommandResult("check", 75, "atelier-space needed=20971520 available=7969177 snapshot=19922944 mount=/mnt/my disk\n", "atelier: ...\n", TimeSpan.Zero);

        var ex = Assert.Throws<AtelierException>(() => DatabaseRestore.CheckSpace(result, "/var/lib/demo/data/demo.db"));

        Assert.Equal("The restore of /var/lib/demo/data/demo.db needs 12.4 MiB more free space on /mnt/my disk (needs 20.0 MiB, 7.6 MiB free); nothing was stopped.", ex.Message);
    }

    [Fact]
    public void CheckSpace_without_the_space_line_is_a_failed_check()
    {
        var ex = Assert.Throws<AtelierException>(() => DatabaseRestore.CheckSpace(new CommandResult("check", 0, "something else\n", string.Empty, TimeSpan.Zero), "/d.db"));

        Assert.Equal("RestoreSpaceCheckFailed", ex.ErrorId);
        Assert.Equal(FailureKind.OperationFailed, ex.Kind);
    }

    [Theory]
    [InlineData(0L, "0 bytes")]
    [InlineData(1023L, "1023 bytes")]
    [InlineData(1024L, "1.0 KiB")]
    [InlineData(1536L, "1.5 KiB")]
    [InlineData(13002343L, "12.4 MiB")]
    [InlineData(5368709120L, "5.0 GiB")]
    public void Sizes_are_worded_in_binary_units(long bytes, string expected)
    {
        Assert.Equal(expected, DatabaseRestore.Size(bytes));
    }

    private static string[] Names(string folder) =>
        Directory.GetFileSystemEntries(folder).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal).ToArray();

    private void MountData(long bytes) => _tmpfs = new Tmpfs(bytes, Data);

    /// <summary>A live database with its -wal and -shm (random bytes: only whether they change matters here).</summary>
    private Dictionary<string, byte[]> LiveFiles(int db = 64 * KiB, int wal = 32 * KiB)
    {
        Tmpfs.RandomFile(Db, db);
        Tmpfs.RandomFile(Db + "-wal", wal);
        Tmpfs.RandomFile(Db + "-shm", 4 * KiB);
        return LiveNames.ToDictionary(n => n, n => File.ReadAllBytes(Path.Combine(Data, n)));
    }

    /// <summary>The database folder holds exactly the files it held, byte for byte (and <paramref name="others"/>).</summary>
    private void AssertUnchanged(Dictionary<string, byte[]> before, params string[] others)
    {
        Assert.Equal(before.Keys.Concat(others).Order(StringComparer.Ordinal), Names(Data));
        foreach (var (name, bytes) in before)
        {
            Assert.True(bytes.AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(Data, name))), $"{name} changed");
        }
    }

    private async Task<CommandResult> RunAsync(ShellCommand command)
    {
        using var host = new HomeHost(Home);
        return await host.RunAsync(command, Options, CancellationToken.None);
    }
}
