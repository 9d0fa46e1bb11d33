using Microsoft.Data.Sqlite;

namespace Atelier.Tests.Snapshot;

/// <summary>Real SQLite databases for the tests (no connection pooling, so no file stays open).</summary>
internal static class TestDatabase
{
    public static SqliteConnection Open(string path, SqliteOpenMode mode = SqliteOpenMode.ReadWriteCreate)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    /// <summary>A database with table <c>t(id, v)</c> holding rows 1..<paramref name="rows"/> of 200-byte blobs.</summary>
    public static string Create(string path, int rows, bool wal = false)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var connection = Open(path);
        Execute(connection, (wal ? "PRAGMA journal_mode=WAL;" : string.Empty) + "CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB NOT NULL);");
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.CommandText = "INSERT INTO t(id, v) VALUES ($id, randomblob(200))";
        var id = insert.Parameters.Add("$id", SqliteType.Integer);
        for (var i = 1; i <= rows; i++)
        {
            id.Value = i;
            insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return path;
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static long Scalar(string path, string sql)
    {
        using var connection = Open(path, SqliteOpenMode.ReadOnly);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar() ?? 0L, System.Globalization.CultureInfo.InvariantCulture);
    }
}
