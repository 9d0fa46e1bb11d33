using System.Runtime.Versioning;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Tests.Transport;
using Microsoft.Data.Sqlite;

namespace Atelier.Tests.History;

/// <summary>The local deploy history: real SQLite files in a temp folder.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class LocalHistoryTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private string DbPath => _folder.Combine("state", "atelier", "history.db");

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void Opening_creates_a_private_folder_and_file_a_WAL_database_and_the_schema()
    {
        var history = new LocalHistory(DbPath);

        Assert.Equal(DbPath, history.Path);
        Assert.Equal((UnixFileMode)Convert.ToInt32("700", 8), File.GetUnixFileMode(Path.GetDirectoryName(DbPath)!));
        Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), File.GetUnixFileMode(DbPath));
        Assert.Equal("wal", Scalar("PRAGMA journal_mode;"));
        Assert.Equal("deploys", Scalar("SELECT name FROM sqlite_master WHERE type = 'table';"));
        Assert.Empty(history.Query());
    }

    [Fact]
    public void Opening_for_reading_creates_nothing_a_missing_file_is_no_history_or_when_required_HistoryNotFound()
    {
        Assert.Null(LocalHistory.OpenExisting(DbPath, required: false));
        var missing = Assert.Throws<AtelierException>(() => LocalHistory.OpenExisting(DbPath, required: true));

        Assert.Equal("HistoryNotFound", missing.ErrorId);
        Assert.Equal(FailureKind.NotFound, missing.Kind);
        Assert.Contains(DbPath, missing.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.HistoryPath], missing.Hints);
        EngineWords.AssertNoCmdletWords(missing.Message);
        Assert.False(Directory.Exists(Path.GetDirectoryName(DbPath)), "a read must not create the folder");
    }

    [Fact]
    public void Opening_for_reading_reads_what_a_writer_recorded()
    {
        var record = Records.Deploy("web", DeployStatus.Succeeded, minutes: 10);
        new LocalHistory(DbPath).Add(record);

        var read = Assert.Single(LocalHistory.OpenExisting(DbPath, required: true)!.Query());

        Records.AssertSame(record, read);
    }

    [Fact]
    public void Hostile_strings_in_every_field_come_back_verbatim()
    {
        var history = new LocalHistory(DbPath);
        var written = Enumerable.Range(0, Records.Hostile.Length).Select(Records.HostileRecord).ToList();

        written.ForEach(history.Add);
        var read = history.Query();

        Assert.Equal(written.Count, read.Count);
        foreach (var (expected, actual) in written.AsEnumerable().Reverse().Zip(read))
        {
            Records.AssertSame(expected, actual);
        }

        var one = Assert.Single(history.Query(service: written[3].Service, status: written[3].Status, computerName: written[3].ComputerName));
        Records.AssertSame(written[3], one);
    }

    [Fact]
    public void Query_filters_by_service_host_and_status_and_keeps_the_last_newest_first()
    {
        var history = new LocalHistory(DbPath);
        var a = Records.Deploy("web", DeployStatus.Succeeded, minutes: 10);
        var b = Records.Deploy("web", DeployStatus.RolledBack, minutes: 30);
        var c = Records.Deploy("api", DeployStatus.Succeeded, minutes: 20);
        var d = Records.Deploy("web", DeployStatus.Succeeded, minutes: 40, computer: "other-host");
        var e = Records.Deploy("web", DeployStatus.Failed, minutes: 5);
        foreach (var record in new[] { a, b, c, d, e })
        {
            history.Add(record);
        }

        Assert.Equal([d.Id, b.Id, c.Id, a.Id, e.Id], history.Query().Select(r => r.Id));
        Assert.Equal([d.Id, b.Id, a.Id, e.Id], history.Query(service: "web").Select(r => r.Id));
        Assert.Equal([b.Id, a.Id, e.Id], history.Query(service: "web", computerName: "TEREBITHIA").Select(r => r.Id));
        Assert.Equal([d.Id, a.Id], history.Query(service: "web", status: "succeeded").Select(r => r.Id));
        Assert.Equal([d.Id, b.Id], history.Query(service: "web", last: 2).Select(r => r.Id));
        Assert.Empty(history.Query(service: "WEB"));
        Assert.Throws<ArgumentOutOfRangeException>(() => history.Query(last: 0));
    }

    [Fact]
    public void A_row_written_with_the_former_status_NoChange_reads_back_Unchanged_and_either_name_finds_it()
    {
        var history = new LocalHistory(DbPath);
        var succeeded = Records.Deploy("web", DeployStatus.Succeeded, minutes: 10);
        var unchanged = Records.Deploy("web", DeployStatus.Unchanged, minutes: 20);
        history.Add(succeeded);
        history.Add(unchanged);
        using (var connection = Open(DbPath))
        {
            // The row as 0.1.0's LocalHistory.Add wrote it: the former name in the status column and in the JSON.
            using var command = connection.CreateCommand();
            command.CommandText = "INSERT INTO deploys(id, service, computer_name, operation, status, started_at, json) VALUES ($id, 'web', 'terebithia', 'Deploy', 'NoChange', '2025-03-01T12:50:00.0000000Z', $json);";
            command.Parameters.AddWithValue("$id", Records.OldNoChangeId);
            command.Parameters.AddWithValue("$json", Records.OldNoChangeLine);
            command.ExecuteNonQuery();
        }

        var old = history.Query()[0];

        Assert.Equal((Records.OldNoChangeId, DeployStatus.Unchanged, "2222222"), (old.Id, old.Status, old.NewCommit));
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], history.Query(status: DeployStatus.Unchanged).Select(r => r.Id));
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], history.Query(status: "unchanged").Select(r => r.Id));
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], history.Query(status: DeployStatus.NoChange).Select(r => r.Id));
        Assert.Equal([Records.OldNoChangeId, unchanged.Id], history.Query(status: "nochange").Select(r => r.Id));
        Assert.Equal([succeeded.Id], history.Query(status: DeployStatus.Succeeded).Select(r => r.Id));
        Assert.Equal([Records.OldNoChangeId], history.Query(status: DeployStatus.NoChange, last: 1).Select(r => r.Id));
        Assert.Equal("NoChange", Scalar($"SELECT status FROM deploys WHERE id = '{Records.OldNoChangeId}';"));
    }

    [Fact]
    public void Records_started_at_the_same_time_come_back_latest_added_first()
    {
        var history = new LocalHistory(DbPath);
        var first = Records.Deploy(minutes: 1);
        var second = Records.Deploy(minutes: 1);

        history.Add(first);
        history.Add(second);

        Assert.Equal([second.Id, first.Id], history.Query().Select(r => r.Id));
    }

    [Fact]
    public void Adding_a_record_again_replaces_it()
    {
        var history = new LocalHistory(DbPath);
        var running = Records.Deploy(status: DeployStatus.Failed, minutes: 1);
        var other = Records.Deploy(minutes: 2);
        var done = new DeployRecord
        {
            Id = running.Id,
            Service = running.Service,
            ComputerName = running.ComputerName,
            Operation = running.Operation,
            Status = DeployStatus.RolledBack,
            StartedAt = running.StartedAt,
            Error = "health check failed",
        };

        history.Add(running);
        history.Add(other);
        history.Add(running);
        history.Add(done);

        var read = history.Query();
        Assert.Equal([other.Id, running.Id], read.Select(r => r.Id));
        Assert.Equal(DeployStatus.RolledBack, read[1].Status);
        Assert.Equal("health check failed", read[1].Error);
        Assert.Empty(history.Query(status: DeployStatus.Failed));
        Assert.Equal(2L, Scalar("SELECT count(*) FROM deploys;"));
    }

    [Fact]
    public void The_history_survives_reopening()
    {
        var record = Records.Deploy();
        new LocalHistory(DbPath).Add(record);

        var reopened = new LocalHistory(DbPath);

        Records.AssertSame(record, Assert.Single(reopened.Query()));
    }

    [Fact]
    public async Task Two_instances_on_one_file_add_concurrently_without_losing_a_record()
    {
        var one = new LocalHistory(DbPath);
        var two = new LocalHistory(DbPath);
        var records = Enumerable.Range(0, 60).Select(i => Records.Deploy(minutes: i)).ToList();

        await Task.WhenAll(
            Task.Run(() => records.Where((_, i) => i % 2 == 0).ToList().ForEach(one.Add)),
            Task.Run(() => records.Where((_, i) => i % 2 == 1).ToList().ForEach(two.Add)));

        Assert.Equal(records.Select(r => r.Id).Reverse(), one.Query().Select(r => r.Id));
        Assert.Equal(records.Select(r => r.Id).Reverse(), two.Query().Select(r => r.Id));
    }

    [Fact]
    public void An_incomplete_record_is_refused()
    {
        var history = new LocalHistory(DbPath);
        var record = new DeployRecord { Id = " ", Service = "web", ComputerName = "h", Operation = DeployOperation.Deploy, Status = DeployStatus.Succeeded, StartedAt = Records.Start };

        Assert.Throws<ArgumentException>(() => history.Add(record));
        Assert.Empty(history.Query());
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_before_anything_is_written_to_it()
    {
        const string Text = "this is not SQLite, just text long enough to fill a header page.....................................\n";
        var path = _folder.Write("notes.txt", Text);

        var opened = Assert.Throws<AtelierException>(() => new LocalHistory(path));
        var read = Assert.Throws<AtelierException>(() => LocalHistory.OpenExisting(path, required: true));
        var checkedOnly = Assert.Throws<AtelierException>(() => LocalHistory.Check(path));

        Assert.Equal("HistoryPathInvalid", opened.ErrorId);
        Assert.Equal("HistoryPathInvalid", read.ErrorId);
        Assert.Equal("HistoryPathInvalid", checkedOnly.ErrorId);
        Assert.Equal(FailureKind.InvalidArgument, opened.Kind);
        Assert.Contains(path, opened.Message, StringComparison.Ordinal);
        Assert.Contains("not a SQLite database", opened.Message, StringComparison.Ordinal);
        Assert.Equal([Hint.HistoryPath], opened.Hints);
        EngineWords.AssertNoCmdletWords(opened.Message);
        Assert.Equal(Text, File.ReadAllText(path));
        Assert.Equal(["notes.txt"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void Another_application_s_SQLite_database_is_refused_and_left_as_it_was()
    {
        var path = _folder.Combine("app.db");
        using (var connection = Open(path))
        {
            Execute(connection, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users(name) VALUES ('ada');");
        }

        var before = File.ReadAllBytes(path);

        var ex = Assert.Throws<AtelierException>(() => new LocalHistory(path));
        Assert.Throws<AtelierException>(() => LocalHistory.OpenExisting(path, required: false));

        Assert.Equal("HistoryPathInvalid", ex.ErrorId);
        Assert.Contains("without Atelier's deploys table (it holds users)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(["app.db"], Directory.GetFiles(_folder.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void A_deploys_table_without_Atelier_s_columns_is_refused()
    {
        var path = _folder.Combine("other.db");
        using (var connection = Open(path))
        {
            Execute(connection, "CREATE TABLE deploys(id TEXT, target TEXT);");
        }

        var ex = Assert.Throws<AtelierException>(() => new LocalHistory(path));

        Assert.Equal("HistoryPathInvalid", ex.ErrorId);
        Assert.Contains("no service, computer_name, operation, status, started_at, json column", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_folder_is_refused()
    {
        var path = Directory.CreateDirectory(_folder.Combine("history.db")).FullName;

        Assert.Equal("HistoryPathInvalid", Assert.Throws<AtelierException>(() => new LocalHistory(path)).ErrorId);
    }

    [Fact]
    public void An_empty_file_is_taken_as_a_new_history_and_made_private()
    {
        var path = _folder.Write("empty.db", string.Empty);
        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32("644", 8));
        var record = Records.Deploy();

        new LocalHistory(path).Add(record);

        Assert.Equal((UnixFileMode)Convert.ToInt32("600", 8), File.GetUnixFileMode(path));
        Records.AssertSame(record, Assert.Single(LocalHistory.OpenExisting(path, required: true)!.Query()));
    }

    [Fact]
    public void An_empty_SQLite_database_is_taken_as_a_new_history()
    {
        var path = _folder.Combine("blank.db");
        using (var connection = Open(path))
        {
            Execute(connection, "PRAGMA user_version = 0; VACUUM;");
        }

        LocalHistory.Check(path);
        new LocalHistory(path).Add(Records.Deploy());

        Assert.Single(new LocalHistory(path).Query());
    }

    [Fact]
    public void A_history_database_passes_the_check_also_while_another_connection_has_it_open()
    {
        new LocalHistory(DbPath).Add(Records.Deploy());
        using var reader = Open(DbPath);
        Execute(reader, "SELECT count(*) FROM deploys;");

        LocalHistory.Check(DbPath);
        LocalHistory.Check(_folder.Combine("nothing-here.db"));
    }

    [Fact]
    public void The_database_and_its_wal_and_shm_files_are_0600()
    {
        var history = new LocalHistory(DbPath);
        using var reader = Open(DbPath);
        Execute(reader, "SELECT count(*) FROM deploys;");

        // With a connection still open, SQLite keeps the -wal and -shm files it made for the write.
        history.Add(Records.Deploy());

        var ownerOnly = (UnixFileMode)Convert.ToInt32("600", 8);
        Assert.Equal(ownerOnly, File.GetUnixFileMode(DbPath));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(DbPath + "-wal"));
        Assert.Equal(ownerOnly, File.GetUnixFileMode(DbPath + "-shm"));
    }

    [Theory]
    [InlineData("/state", "/home/u", "/state/atelier/history.db")]
    [InlineData("/state/", "/home/u", "/state/atelier/history.db")]
    [InlineData(null, "/home/u", "/home/u/.local/state/atelier/history.db")]
    [InlineData("", "/home/u", "/home/u/.local/state/atelier/history.db")]
    [InlineData("relative/state", "/home/u", "/home/u/.local/state/atelier/history.db")]
    public void The_default_path_honours_XDG_STATE_HOME_when_it_is_absolute(string? xdgStateHome, string home, string expected)
    {
        Assert.Equal(expected, LocalHistory.DefaultPath(xdgStateHome, home));
    }

    [Fact]
    public void The_default_path_creates_its_folder_when_opened()
    {
        var path = LocalHistory.DefaultPath(_folder.Combine("xdg"), _folder.Combine("home"));

        new LocalHistory(path).Add(Records.Deploy());

        Assert.True(File.Exists(_folder.Combine("xdg", "atelier", "history.db")));
        Assert.False(Directory.Exists(_folder.Combine("home")));
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private object? Scalar(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DbPath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
