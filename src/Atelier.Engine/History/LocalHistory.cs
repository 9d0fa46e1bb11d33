using System.Globalization;
using System.Text.Json;
using Atelier.Deploy;
using Atelier.Snapshot;
using Microsoft.Data.Sqlite;

namespace Atelier.History;

/// <summary>
/// The deploy history kept on this machine: a SQLite database (WAL mode, 30 s busy timeout) with one row per
/// record — the fields queries filter on as columns, the whole record as JSON. Each call opens its own connection,
/// so several instances (or processes) can share one file.
/// </summary>
public sealed class LocalHistory
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS deploys(
            id TEXT PRIMARY KEY NOT NULL,
            service TEXT NOT NULL,
            computer_name TEXT NOT NULL,
            operation TEXT NOT NULL,
            status TEXT NOT NULL,
            started_at TEXT NOT NULL,
            json TEXT NOT NULL);
        CREATE INDEX IF NOT EXISTS deploys_by_service ON deploys(service, started_at);
        """;

    /// <summary>The columns of <see cref="Schema"/>'s table: a <c>deploys</c> table without them is not Atelier's.</summary>
    private static readonly string[] Columns = ["id", "service", "computer_name", "operation", "status", "started_at", "json"];

    private readonly string _connectionString;

    /// <summary>
    /// Opens (creating when needed) the history database at <paramref name="path"/>, or at <see cref="DefaultPath()"/>:
    /// a new one is created 0600 in a 0700 folder; an empty file is taken as a new database (and made 0600). A file that
    /// is not a history database is refused (see <see cref="Check"/>).
    /// </summary>
    /// <exception cref="AtelierException">
    /// <c>HistoryPathInvalid</c> (see <see cref="Check"/>); <c>HistoryDatabaseFailed</c> when the file cannot be opened as a
    /// history database.
    /// </exception>
    public LocalHistory(string? path = null)
        : this(System.IO.Path.GetFullPath(path ?? DefaultPath()), create: true)
    {
    }

    private LocalHistory(string path, bool create)
    {
        Path = path;
        Check(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Mode = create ? SqliteOpenMode.ReadWriteCreate : SqliteOpenMode.ReadWrite, Pooling = false }.ToString();
        if (create)
        {
            CreateFile(Path);
        }

        Run(connection =>
        {
            // journal_mode returns a row: on its own, so a later statement's error is not lost.
            Execute(connection, "PRAGMA journal_mode = WAL;");
            Execute(connection, Schema);
            return 0;
        });
    }

    /// <summary>
    /// The history database at <paramref name="path"/> for reading, which never creates a file or a folder: null when
    /// there is none yet (no deploy was recorded there), or, when <paramref name="required"/> (a path the user named),
    /// a <c>HistoryNotFound</c> error naming it.
    /// </summary>
    /// <exception cref="AtelierException">
    /// <c>HistoryNotFound</c> when <paramref name="required"/> and there is no file; <c>HistoryPathInvalid</c> (see
    /// <see cref="Check"/>); <c>HistoryDatabaseFailed</c> when the file cannot be opened as a history database.
    /// </exception>
    public static LocalHistory? OpenExisting(string path, bool required)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (File.Exists(full))
        {
            return new LocalHistory(full, create: false);
        }

        return required
            ? throw new AtelierException("HistoryNotFound", FailureKind.NotFound, $"There is no deploy history database at {full} (a deploy creates it).") { Hints = [Hint.HistoryPath] }
            : null;
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>
    /// Refuses, reading only and writing nothing, a path that is not a deploy history database Atelier may write to: a
    /// folder, a file that is not a SQLite database (it does not start with <c>SQLite format 3\0</c>), or a SQLite
    /// database that holds other tables and no Atelier <c>deploys</c> table (with Atelier's columns). A path with no
    /// file, an empty (0-byte) file and an empty database pass: they become a history database when it is opened.
    /// </summary>
    /// <exception cref="AtelierException">
    /// <c>HistoryPathInvalid</c>; <c>HistoryDatabaseFailed</c> when the file cannot be read.
    /// </exception>
    public static void Check(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = System.IO.Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw Invalid(full, "it is a folder");
        }

        var file = new FileInfo(full);
        if (!file.Exists || file.Length == 0)
        {
            return;
        }

        try
        {
            if (!SqliteFile.HasDatabaseHeader(full))
            {
                throw Invalid(full, "it is not a SQLite database");
            }

            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            // Tables, indexes, views and triggers: a database with none is empty, with nothing in it to overwrite.
            var objects = new List<(string Type, string Name)>();
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT type, name FROM sqlite_master;";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    objects.Add((reader.GetString(0), reader.GetString(1)));
                }
            }

            if (objects.Count == 0)
            {
                return;
            }

            var tables = objects.Where(o => o.Type == "table").Select(o => o.Name).ToList();
            if (!tables.Contains("deploys", StringComparer.OrdinalIgnoreCase))
            {
                var holds = tables.Count == 0 ? "no table" : string.Join(", ", tables.Take(5)) + (tables.Count > 5 ? ", ..." : string.Empty);
                throw Invalid(full, $"it is a SQLite database without Atelier's deploys table (it holds {holds})");
            }

            var columns = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            using (var command = connection.CreateCommand())
            {
                command.CommandText = "SELECT name FROM pragma_table_info('deploys');";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    columns.Add(reader.GetString(0));
                }
            }

            var missing = Columns.Where(c => !columns.Contains(c)).ToList();
            if (missing.Count > 0)
            {
                throw Invalid(full, $"its deploys table is not Atelier's (it has no {string.Join(", ", missing)} column)");
            }
        }
        catch (Exception ex) when (ex is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw new AtelierException("HistoryDatabaseFailed", FailureKind.OperationFailed, $"Could not read the deploy history database {full}: {ex.Message}", ex);
        }
    }

    /// <summary>The default database: <c>$XDG_STATE_HOME/atelier/history.db</c>, else <c>~/.local/state/atelier/history.db</c>.</summary>
    public static string DefaultPath() =>
        DefaultPath(Environment.GetEnvironmentVariable("XDG_STATE_HOME"), Environment.GetFolderPath(Environment.SpecialFolder.UserProfile));

    /// <summary>
    /// The default database for a given <c>XDG_STATE_HOME</c> and home folder. As the XDG spec says, an empty or
    /// relative <paramref name="xdgStateHome"/> is ignored.
    /// </summary>
    public static string DefaultPath(string? xdgStateHome, string home)
    {
        ArgumentException.ThrowIfNullOrEmpty(home);
        var state = !string.IsNullOrEmpty(xdgStateHome) && System.IO.Path.IsPathRooted(xdgStateHome)
            ? xdgStateHome
            : System.IO.Path.Combine(home, ".local", "state");
        return System.IO.Path.Combine(state, "atelier", "history.db");
    }

    /// <summary>Adds a record, or replaces the one with the same <see cref="DeployRecord.Id"/>.</summary>
    public void Add(DeployRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        DeployHistory.Validate(record);
        var json = JsonSerializer.Serialize(record, DeployHistory.Json);
        Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                INSERT INTO deploys(id, service, computer_name, operation, status, started_at, json)
                VALUES ($id, $service, $computer, $operation, $status, $started, $json)
                ON CONFLICT(id) DO UPDATE SET service = excluded.service, computer_name = excluded.computer_name,
                    operation = excluded.operation, status = excluded.status, started_at = excluded.started_at, json = excluded.json;
                """;
            command.Parameters.AddWithValue("$id", record.Id);
            command.Parameters.AddWithValue("$service", record.Service);
            command.Parameters.AddWithValue("$computer", record.ComputerName);
            command.Parameters.AddWithValue("$operation", record.Operation);
            command.Parameters.AddWithValue("$status", record.Status);
            command.Parameters.AddWithValue("$started", SortableTime(record.StartedAt));
            command.Parameters.AddWithValue("$json", json);
            return command.ExecuteNonQuery();
        });
    }

    /// <summary>
    /// Records newest first (by start time, then by the order they were first added), keeping those of
    /// <paramref name="service"/> (exact), on <paramref name="computerName"/> and with <paramref name="status"/> (both
    /// in any case; a status also under its former name, see <see cref="DeployStatus.FormerName"/>), at most <paramref name="last"/>.
    /// </summary>
    public IReadOnlyList<DeployRecord> Query(string? service = null, string? computerName = null, string? status = null, int? last = null)
    {
        DeployHistory.CheckLast(last);
        return Run(connection =>
        {
            using var command = connection.CreateCommand();
            command.CommandText = """
                SELECT id, json FROM deploys
                WHERE ($service IS NULL OR service = $service)
                  AND ($computer IS NULL OR computer_name = $computer COLLATE NOCASE)
                  AND ($status IS NULL OR status = $status COLLATE NOCASE OR status = $former COLLATE NOCASE)
                ORDER BY started_at DESC, rowid DESC
                LIMIT $limit;
                """;
            command.Parameters.AddWithValue("$service", (object?)service ?? DBNull.Value);
            command.Parameters.AddWithValue("$computer", (object?)computerName ?? DBNull.Value);
            // Rows written before a status was renamed hold its former name in the column (their JSON is read as today's).
            command.Parameters.AddWithValue("$status", status is null ? DBNull.Value : DeployStatus.Parse(status));
            command.Parameters.AddWithValue("$former", (status is null ? null : DeployStatus.FormerName(status)) ?? (object)DBNull.Value);
            command.Parameters.AddWithValue("$limit", last ?? -1);
            using var reader = command.ExecuteReader();
            var records = new List<DeployRecord>();
            while (reader.Read())
            {
                var id = reader.GetString(0);
                if (!DeployHistory.TryParseLine(reader.GetString(1), out var record, out var problem))
                {
                    throw new AtelierException("HistoryDatabaseFailed", FailureKind.InvalidData, $"The record {id} in {Path} is damaged: {problem}");
                }

                records.Add(record!);
            }

            return records;
        });
    }

    private static AtelierException Invalid(string path, string why) =>
        new("HistoryPathInvalid", FailureKind.InvalidArgument, $"{path} is not a deploy history database: {why}. Nothing was written to it; a history's path takes a history database, a new file name or an empty file.")
        {
            Hints = [Hint.HistoryPath],
        };

    /// <summary>Start times as text that sorts as time does: UTC, fixed width, 100 ns precision.</summary>
    private static string SortableTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Creates the folder (0700) and an empty database file (0600) when missing, and makes an empty file that is there
    /// 0600 before SQLite writes to it; SQLite creates the -wal and -shm files with the database file's mode.
    /// </summary>
    private static void CreateFile(string path)
    {
        var folder = System.IO.Path.GetDirectoryName(path)!;
        try
        {
            if (!Directory.Exists(folder))
            {
                PrivateFile.CreateFolder(folder);
            }

            if (!File.Exists(path))
            {
                PrivateFile.CreateNew(path).Dispose();
            }
            else if (!OperatingSystem.IsWindows() && new FileInfo(path).Length == 0 && File.GetUnixFileMode(path) != PrivateFile.Mode)
            {
                File.SetUnixFileMode(path, PrivateFile.Mode);
            }
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another instance created it between the check and the create.
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AtelierException("HistoryDatabaseFailed", FailureKind.OperationFailed, $"Could not create the deploy history database {path}: {ex.Message}", ex);
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private T Run<T>(Func<SqliteConnection, T> work)
    {
        try
        {
            using var connection = new SqliteConnection(_connectionString);
            connection.Open();
            Execute(connection, "PRAGMA busy_timeout = 30000;");
            return work(connection);
        }
        catch (SqliteException ex)
        {
            throw new AtelierException("HistoryDatabaseFailed", FailureKind.OperationFailed, $"The deploy history database {Path} failed: {ex.Message}", ex);
        }
    }
}
