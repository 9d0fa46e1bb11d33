using Atelier.Snapshot;
using Atelier.Tests.Transport;
using Microsoft.Data.Sqlite;

namespace Atelier.Tests.Snapshot;

/// <summary><see cref="SqliteFile"/> on real database files, sound and damaged.</summary>
public sealed class SqliteFileTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void A_sound_database_passes()
    {
        var path = TestDatabase.Create(_folder.Combine("good.db"), rows: 500);

        Assert.Equal("ok", SqliteFile.IntegrityCheck(path));
        SqliteFile.Verify(path);
    }

    [Fact]
    public void A_database_with_damaged_pages_fails_verification()
    {
        var path = TestDatabase.Create(_folder.Combine("damaged.db"), rows: 500);
        var pages = new FileInfo(path).Length / 4096;
        Assert.True(pages > 20, $"the test database has only {pages} pages");
        var garbage = new byte[4096 * 4];
        new Random(42).NextBytes(garbage);
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.Seek(4096 * (pages / 2), SeekOrigin.Begin);
            file.Write(garbage);
        }

        var ex = Assert.Throws<AtelierException>(() => SqliteFile.Verify(path));

        Assert.Equal("SnapshotVerificationFailed", ex.ErrorId);
        Assert.Equal(FailureKind.InvalidData, ex.Kind);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_that_is_not_a_database_fails_verification()
    {
        var path = _folder.Write("notes.db", string.Concat(Enumerable.Repeat("This is not a SQLite database at all.\n", 300)));

        var ex = Assert.Throws<AtelierException>(() => SqliteFile.Verify(path));

        Assert.Equal("SnapshotVerificationFailed", ex.ErrorId);
        Assert.Contains("not a readable SQLite database", ex.Message, StringComparison.Ordinal);
        Assert.IsType<SqliteException>(ex.InnerException);
    }

    [Fact]
    public void An_empty_file_fails_verification()
    {
        var path = _folder.Write("empty.db", string.Empty);

        var ex = Assert.Throws<AtelierException>(() => SqliteFile.Verify(path));

        Assert.Equal("SnapshotVerificationFailed", ex.ErrorId);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_fails_verification()
    {
        var ex = Assert.Throws<AtelierException>(() => SqliteFile.Verify(_folder.Combine("missing.db")));

        Assert.Equal("SnapshotVerificationFailed", ex.ErrorId);
        Assert.False(File.Exists(_folder.Combine("missing.db")));
    }

    [Fact]
    public void VacuumInto_writes_a_complete_sound_copy()
    {
        var source = TestDatabase.Create(_folder.Combine("live.db"), rows: 300, wal: true);
        var copy = _folder.Combine("copy.db");

        SqliteFile.VacuumInto(source, copy);

        SqliteFile.Verify(copy);
        Assert.Equal(300, TestDatabase.Scalar(copy, "SELECT count(*) FROM t"));
        Assert.Equal(300, TestDatabase.Scalar(copy, "SELECT max(id) FROM t"));
    }

    [Fact]
    public void VacuumInto_reports_a_source_that_is_not_a_database()
    {
        var source = _folder.Write("live.db", string.Concat(Enumerable.Repeat("not a database\n", 500)));

        Assert.Throws<SqliteException>(() => SqliteFile.VacuumInto(source, _folder.Combine("copy.db")));
        Assert.False(File.Exists(_folder.Combine("copy.db")));
    }

    [Fact]
    public void VacuumInto_refuses_to_overwrite_a_file()
    {
        var source = TestDatabase.Create(_folder.Combine("live.db"), rows: 10);
        var existing = _folder.Write("copy.db", "keep me");

        Assert.Throws<SqliteException>(() => SqliteFile.VacuumInto(source, existing));
        Assert.Equal("keep me", File.ReadAllText(existing));
    }
}
