using Microsoft.Data.Sqlite;

namespace Atelier.Snapshot;

/// <summary>SQLite work on this machine, with Microsoft.Data.Sqlite.</summary>
public static class SqliteFile
{
    /// <summary>The 16 bytes every SQLite 3 database file starts with.</summary>
    private static readonly byte[] Header = "SQLite format 3\0"u8.ToArray();

    /// <summary>
    /// Whether the file starts with SQLite's header (<c>SQLite format 3\0</c>): a database, as far as a look at its
    /// first bytes can tell. A file shorter than SQLite's 100-byte header, a folder or a missing file is not; nor is a
    /// device or a pipe (their size is 0), which is never opened, so never read from or waited on.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The file cannot be read.</exception>
    public static bool HasDatabaseHeader(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists || file.Length < 100)
        {
            return false;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var start = new byte[Header.Length];
        return stream.ReadAtLeast(start, start.Length, throwOnEndOfStream: false) == start.Length && start.AsSpan().SequenceEqual(Header);
    }

    /// <summary>Writes a consistent copy of a live database with <c>VACUUM INTO</c> (the target must not exist, or be an empty file).</summary>
    public static void VacuumInto(string databasePath, string targetPath)
    {
        using var connection = Open(databasePath, SqliteOpenMode.ReadWrite);
        using (var timeout = connection.CreateCommand())
        {
            timeout.CommandText = "PRAGMA busy_timeout = 30000;";
            timeout.ExecuteNonQuery();
        }

        // On its own: after a statement that returns a row (as the PRAGMA does), a later statement's error is lost.
        using var command = connection.CreateCommand();
        command.CommandText = "VACUUM INTO $target;";
        command.Parameters.AddWithValue("$target", targetPath);
        command.ExecuteNonQuery();
    }

    /// <summary>Runs <c>PRAGMA integrity_check</c>; returns "ok" or the problems it lists.</summary>
    public static string IntegrityCheck(string path)
    {
        using var connection = Open(path, SqliteOpenMode.ReadOnly);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        using var reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(0));
        }

        return string.Join('\n', lines);
    }

    /// <summary>Throws <see cref="AtelierException"/> unless the file is a sound SQLite database.</summary>
    public static void Verify(string path)
    {
        // SQLite takes an empty file for an empty database; a snapshot of a real one is never empty.
        var file = new FileInfo(path);
        if (!file.Exists || file.Length == 0)
        {
            throw new AtelierException("SnapshotVerificationFailed", FailureKind.InvalidData, $"The snapshot {path} is {(file.Exists ? "empty" : "missing")}.");
        }

        string result;
        try
        {
            result = IntegrityCheck(path);
        }
        catch (SqliteException ex)
        {
            throw new AtelierException("SnapshotVerificationFailed", FailureKind.InvalidData, $"The snapshot {path} is not a readable SQLite database: {ex.Message}", ex);
        }

        if (result != "ok")
        {
            throw new AtelierException("SnapshotVerificationFailed", FailureKind.InvalidData, $"The snapshot {path} failed PRAGMA integrity_check: {result}");
        }
    }

    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
