using Atelier.Snapshot;

namespace Atelier.Tests.Snapshot;

/// <summary>Snapshot file names: written, read back, and told apart from other files.</summary>
public sealed class ServiceDbSnapshotTests
{
    private static readonly DateTimeOffset Moment = new(2024, 3, 5, 6, 7, 8, 9, TimeSpan.Zero);

    [Fact]
    public void FileName_holds_the_database_the_UTC_time_to_the_millisecond_and_the_commit()
    {
        Assert.Equal("app.20240305T060708009Z.abc123def456.db", ServiceDbSnapshot.FileName("app", Moment, "abc123def456"));
    }

    [Fact]
    public void FileName_writes_the_time_in_UTC()
    {
        var local = new DateTimeOffset(2024, 3, 5, 8, 7, 8, 9, TimeSpan.FromHours(2));

        Assert.Equal("app.20240305T060708009Z.nocommit.db", ServiceDbSnapshot.FileName("app", local, "nocommit"));
    }

    [Theory]
    [InlineData("app", "abc123def456")]
    [InlineData("my.app.v2", "nocommit")]
    [InlineData("data-1_x", "0123456789ab")]
    [InlineData("app.db", "ff")]
    [InlineData("a", "0")]
    public void FileName_reads_back_with_TryParseFileName(string database, string commit)
    {
        var name = ServiceDbSnapshot.FileName(database, Moment, commit);

        Assert.True(ServiceDbSnapshot.TryParseFileName(name, out var parsedDatabase, out var parsedAt, out var parsedCommit));
        Assert.Equal(database, parsedDatabase);
        Assert.Equal(Moment, parsedAt);
        Assert.Equal(TimeSpan.Zero, parsedAt.Offset);
        Assert.Equal(commit, parsedCommit);
    }

    [Theory]
    [InlineData("/srv/data/app.db", "app")]
    [InlineData("app.sqlite", "app")]
    [InlineData("~/data/app.sqlite3", "app")]
    [InlineData("data/my.app.db", "my.app")]
    [InlineData("my.app.v2.sqlite", "my.app.v2")]
    [InlineData("noextension", "noextension")]
    [InlineData("app.db.bak", "app.db.bak")]
    [InlineData("app.DB", "app.DB")]
    [InlineData(".db", ".db")]
    public void DatabaseName_drops_the_folder_and_a_SQLite_extension(string path, string expected)
    {
        Assert.Equal(expected, ServiceDbSnapshot.DatabaseName(path));
    }

    [Theory]
    [InlineData("app.db")]
    [InlineData("notes.txt")]
    [InlineData("app.20240305T060708009Z.db")]
    [InlineData(".20240305T060708009Z.abc.db")]
    [InlineData("app.20240305T060708009Z.abc.db.partial")]
    [InlineData(".app.20240305T060708009Z.abc.db.partial")]
    [InlineData("app.20240305T060708009Z.ABC.db")]
    [InlineData("app.20240305T060708009Z.ab-c.db")]
    [InlineData("app.20240305T06070800Z.abc.db")]
    [InlineData("app.20240305T0607080090Z.abc.db")]
    [InlineData("app.2024-03-05T06:07:08Z.abc.db")]
    [InlineData("app.20240305T060708009.abc.db")]
    [InlineData("app.20240305T060708009Z.abc.sqlite")]
    [InlineData("app.20241399T000000000Z.abc.db")]
    [InlineData("app.20240230T000000000Z.abc.db")]
    [InlineData("app.20240305T256708009Z.abc.db")]
    public void Other_file_names_are_not_snapshots(string fileName)
    {
        Assert.False(ServiceDbSnapshot.TryParseFileName(fileName, out var database, out var createdAt, out var commit));
        Assert.Equal(string.Empty, database);
        Assert.Equal(string.Empty, commit);
        Assert.Equal(default, createdAt);
    }

    [Fact]
    public void A_snapshot_request_keeps_five_and_picks_the_tool_itself_by_default()
    {
        var request = new SnapshotRequest("web", "data/app.db");

        Assert.Equal(5, request.Keep);
        Assert.Equal(SnapshotTool.Auto, request.Tool);
    }
}
