using System.Runtime.Versioning;
using Atelier.Snapshot;
using Atelier.Tests.Transport;

namespace Atelier.Tests.Snapshot;

/// <summary>
/// <see cref="SnapshotDestination"/>: where <c>-Destination</c> puts a snapshot's copy, on real folders and files. A
/// file that is not a database is never replaced, a database only with force, a missing folder is never created.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SnapshotDestinationTests : IDisposable
{
    private const string Name = "app.20250102T030405006Z.0123456789ab.db";
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_folder_takes_a_new_file_named_as_the_snapshot(bool force)
    {
        var folder = Directory.CreateDirectory(_folder.Combine("downloads")).FullName;

        Assert.Equal(Path.Combine(folder, Name), SnapshotDestination.Resolve(folder, Name, force));
        Assert.Equal(Path.Combine(folder, Name), SnapshotDestination.Resolve(folder + "/", Name, force));
        SnapshotDestination.Check(folder, force);
    }

    [Fact]
    public void A_new_file_in_a_folder_that_exists_is_that_file()
    {
        var target = _folder.Combine("copy.db");

        Assert.Equal(target, SnapshotDestination.Resolve(target, Name, force: false));
        SnapshotDestination.Check(target, force: false);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_existing_file_that_is_not_a_database_is_refused_even_with_force(bool force)
    {
        var target = _folder.Write("passwd", "root:x:0:0:root:/root:/bin/sh\n");

        var resolved = Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(target, Name, force));
        var checkedFirst = Assert.Throws<AtelierException>(() => SnapshotDestination.Check(target, force));

        Assert.Equal("DestinationNotDatabase", resolved.ErrorId);
        Assert.Equal("DestinationNotDatabase", checkedFirst.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, resolved.Kind);
        Assert.Contains(target, resolved.Message, StringComparison.Ordinal);
        Assert.Contains("a snapshot never replaces it", resolved.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.DestinationNeverReplaced], resolved.Hints);
        EngineWords.AssertNoCmdletWords(resolved.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("SQLite format 3")]
    [InlineData("SQLite format 2\0 and enough bytes after it to pass for a header: ..................................................................................")]
    public void An_empty_or_look_alike_file_is_not_a_database(string text)
    {
        var target = _folder.Write("look-alike.db", text);

        var ex = Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(target, Name, force: true));

        Assert.Equal("DestinationNotDatabase", ex.ErrorId);
    }

    [Fact]
    public void A_device_is_refused_without_being_opened()
    {
        var ex = Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve("/dev/null", Name, force: true));

        Assert.Equal("DestinationNotDatabase", ex.ErrorId);
    }

    [Fact]
    public void An_existing_database_is_refused_without_force_and_taken_with_it()
    {
        var target = TestDatabase.Create(_folder.Combine("old-copy.db"), rows: 1);

        var ex = Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(target, Name, force: false));
        Assert.Throws<AtelierException>(() => SnapshotDestination.Check(target, force: false));

        Assert.Equal("DestinationExists", ex.ErrorId);
        Assert.Equal(FailureKind.AlreadyExists, ex.Kind);
        Assert.Equal([Hint.DestinationReplaced], ex.Hints);
        EngineWords.AssertNoCmdletWords(ex.Message);
        Assert.Equal(target, SnapshotDestination.Resolve(target, Name, force: true));
        SnapshotDestination.Check(target, force: true);
    }

    [Fact]
    public void A_file_of_the_snapshot_s_name_inside_the_folder_follows_the_same_rules()
    {
        var folder = Directory.CreateDirectory(_folder.Combine("downloads")).FullName;
        TestDatabase.Create(Path.Combine(folder, Name), rows: 1);
        File.WriteAllText(Path.Combine(folder, "notes.db"), "my notes, not a database");
        Directory.CreateDirectory(Path.Combine(folder, "sub.db"));

        Assert.Equal("DestinationExists", Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(folder, Name, force: false)).ErrorId);
        Assert.Equal(Path.Combine(folder, Name), SnapshotDestination.Resolve(folder, Name, force: true));
        Assert.Equal("DestinationNotDatabase", Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(folder, "notes.db", force: true)).ErrorId);
        Assert.Equal("DestinationExists", Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(folder, "sub.db", force: true)).ErrorId);
    }

    [Theory]
    [InlineData("missing/copy.db", "missing")]
    [InlineData("missing/", "missing")]
    [InlineData("missing/deeper/", "missing/deeper")]
    public void A_folder_that_does_not_exist_is_an_error_naming_it_and_nothing_is_created(string destination, string folder)
    {
        var path = _folder.Combine(destination);

        var resolved = Assert.Throws<AtelierException>(() => SnapshotDestination.Resolve(path, Name, force: true));
        var checkedFirst = Assert.Throws<AtelierException>(() => SnapshotDestination.Check(path, force: true));

        Assert.Equal("DestinationFolderMissing", resolved.ErrorId);
        Assert.Equal("DestinationFolderMissing", checkedFirst.ErrorId);
        Assert.Equal(FailureKind.NotFound, resolved.Kind);
        Assert.Contains($"folder {_folder.Combine(folder)} does not exist", resolved.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_folder.Combine("missing")));
    }

    [Fact]
    public async Task WriteAsync_writes_a_0600_temporary_file_beside_the_target_then_renames_it_into_place()
    {
        var folder = Directory.CreateDirectory(_folder.Combine("downloads")).FullName;
        string? partial = null;

        var written = await SnapshotDestination.WriteAsync(folder, Name, force: false, (path, _) =>
        {
            partial = path;
            return CreateDatabaseAsync(path, rows: 3);
        }, CancellationToken.None);

        Assert.Equal(Path.Combine(folder, Name), written);
        Assert.Equal(folder, Path.GetDirectoryName(partial));
        Assert.StartsWith($".{Name}.", Path.GetFileName(partial), StringComparison.Ordinal);
        Assert.EndsWith(".partial", partial, StringComparison.Ordinal);
        Assert.Equal(3, TestDatabase.Scalar(written, "SELECT count(*) FROM t"));
        Assert.Equal(PrivateFile.Mode, File.GetUnixFileMode(written));
        Assert.Equal([Name], Directory.GetFiles(folder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteAsync_with_force_replaces_an_earlier_copy()
    {
        var target = TestDatabase.Create(_folder.Combine("latest.db"), rows: 1);
        File.SetUnixFileMode(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await SnapshotDestination.WriteAsync(target, Name, force: true, (path, _) => CreateDatabaseAsync(path, rows: 9), CancellationToken.None);

        Assert.Equal(9, TestDatabase.Scalar(target, "SELECT count(*) FROM t"));
        Assert.Equal(PrivateFile.Mode, File.GetUnixFileMode(target));
        Assert.Equal(["latest.db"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WriteAsync_refused_leaves_the_file_unchanged_and_fetches_nothing(bool force)
    {
        var target = _folder.Write("passwd", "root:x:0:0:root:/root:/bin/sh\n");
        var fetched = false;

        var ex = await Assert.ThrowsAsync<AtelierException>(() => SnapshotDestination.WriteAsync(target, Name, force, (_, _) =>
        {
            fetched = true;
            return Task.CompletedTask;
        }, CancellationToken.None));

        Assert.Equal("DestinationNotDatabase", ex.ErrorId);
        Assert.False(fetched);
        Assert.Equal("root:x:0:0:root:/root:/bin/sh\n", File.ReadAllText(target));
        Assert.Equal(["passwd"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteAsync_of_a_copy_that_fails_verification_leaves_nothing_and_keeps_the_old_copy()
    {
        var target = TestDatabase.Create(_folder.Combine("latest.db"), rows: 2);
        var before = await File.ReadAllBytesAsync(target);

        var ex = await Assert.ThrowsAsync<AtelierException>(() => SnapshotDestination.WriteAsync(target, Name, force: true, async (path, cancellation) =>
        {
            await using var file = PrivateFile.CreateNew(path);
            await file.WriteAsync("SQLite format 3\0 but damaged after the header................................................................"u8.ToArray(), cancellation);
        }, CancellationToken.None));

        Assert.Equal("SnapshotVerificationFailed", ex.ErrorId);
        Assert.Equal(before, await File.ReadAllBytesAsync(target));
        Assert.Equal(["latest.db"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteAsync_whose_fetch_fails_leaves_no_temporary_file()
    {
        var folder = Directory.CreateDirectory(_folder.Combine("downloads")).FullName;

        await Assert.ThrowsAsync<IOException>(() => SnapshotDestination.WriteAsync(folder, Name, force: false, async (path, _) =>
        {
            await using var file = PrivateFile.CreateNew(path);
            throw new IOException("connection lost");
        }, CancellationToken.None));

        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public async Task WriteAsync_without_force_does_not_replace_a_file_that_appeared_during_the_download()
    {
        var target = _folder.Combine("copy.db");

        var ex = await Assert.ThrowsAsync<AtelierException>(() => SnapshotDestination.WriteAsync(target, Name, force: false, async (path, _) =>
        {
            await CreateDatabaseAsync(path, rows: 4);
            TestDatabase.Create(target, rows: 1);
        }, CancellationToken.None));

        Assert.Equal("DestinationExists", ex.ErrorId);
        Assert.Equal(1, TestDatabase.Scalar(target, "SELECT count(*) FROM t"));
        Assert.Equal(["copy.db"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public async Task WriteAsync_with_force_does_not_replace_a_file_that_stopped_being_a_database_during_the_download()
    {
        var target = TestDatabase.Create(_folder.Combine("copy.db"), rows: 1);

        var ex = await Assert.ThrowsAsync<AtelierException>(() => SnapshotDestination.WriteAsync(target, Name, force: true, async (path, cancellation) =>
        {
            await CreateDatabaseAsync(path, rows: 4);
            await File.WriteAllTextAsync(target, "now something else", cancellation);
        }, CancellationToken.None));

        Assert.Equal("DestinationNotDatabase", ex.ErrorId);
        Assert.Equal("now something else", await File.ReadAllTextAsync(target));
        Assert.Equal(["copy.db"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    /// <summary>What a download does: creates the temporary file (0600) and fills it, here with a fresh database.</summary>
    private static Task CreateDatabaseAsync(string path, int rows)
    {
        PrivateFile.CreateNew(path).Dispose();
        TestDatabase.Create(path, rows);
        Assert.Equal(PrivateFile.Mode, File.GetUnixFileMode(path));
        return Task.CompletedTask;
    }
}
