using System.Globalization;
using System.Text.RegularExpressions;

namespace Atelier.Snapshot;

/// <summary>
/// One snapshot of a service's database, kept on the host in <c>~/.atelier/snapshots/</c> as
/// <c>&lt;database&gt;.&lt;UTC time&gt;.&lt;commit&gt;.db</c>. Its <c>Service</c>, <c>ComputerName</c> and <c>Path</c>
/// bind by property name into the cmdlets that restore it.
/// </summary>
public sealed partial class ServiceDbSnapshot
{
    public required string Service { get; init; }

    public required string ComputerName { get; init; }

    /// <summary>The database's name without extension (<c>demo</c> for <c>demo.db</c>).</summary>
    public required string Database { get; init; }

    /// <summary>The snapshot's full path on the host.</summary>
    public required string Path { get; init; }

    /// <summary>When the snapshot was taken (UTC).</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>The app's deployed commit when the snapshot was taken (<c>nocommit</c> when there was none).</summary>
    public required string Commit { get; init; }

    public long SizeBytes { get; init; }

    /// <summary>The tool that took it (sqlite3, bun, python3, Microsoft.Data.Sqlite); null when listed.</summary>
    public string? Tool { get; init; }

    /// <summary>The database file the snapshot was taken of; null when listed.</summary>
    public string? SourcePath { get; init; }

    /// <summary>A verified copy on this machine (<c>-Destination</c>), or null.</summary>
    public string? LocalPath { get; set; }

    /// <summary>How long taking the snapshot took; null when listed.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>The snapshot's path on the host (what a list or a message shows of it).</summary>
    public override string ToString() => Path;

    /// <summary>The snapshot file's name for a database, a time and a commit.</summary>
    public static string FileName(string database, DateTimeOffset createdAt, string commit) =>
        $"{database}.{createdAt.UtcDateTime.ToString("yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture)}.{commit}.db";

    /// <summary>The database name for a database file: its file name without <c>.db</c>, <c>.sqlite</c> or <c>.sqlite3</c>.</summary>
    public static string DatabaseName(string databasePath)
    {
        var name = System.IO.Path.GetFileName(databasePath);
        foreach (var extension in new[] { ".db", ".sqlite3", ".sqlite" })
        {
            if (name.EndsWith(extension, StringComparison.Ordinal) && name.Length > extension.Length)
            {
                return name[..^extension.Length];
            }
        }

        return name;
    }

    /// <summary>Reads a snapshot file name back; false for any other file.</summary>
    public static bool TryParseFileName(string fileName, out string database, out DateTimeOffset createdAt, out string commit)
    {
        var match = NamePattern().Match(fileName);
        database = commit = string.Empty;
        createdAt = default;
        if (!match.Success
            || !DateTime.TryParseExact(match.Groups["stamp"].Value, "yyyyMMdd'T'HHmmssfff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var stamp))
        {
            return false;
        }

        database = match.Groups["db"].Value;
        commit = match.Groups["commit"].Value;
        createdAt = new DateTimeOffset(stamp, TimeSpan.Zero);
        return true;
    }

    [GeneratedRegex(@"^(?<db>.+)\.(?<stamp>\d{8}T\d{9}Z)\.(?<commit>[0-9a-z]+)\.db$")]
    private static partial Regex NamePattern();
}

/// <summary>Which program takes the snapshot on the host.</summary>
public enum SnapshotTool
{
    /// <summary>sqlite3 (3.27 or later) when present, else bun (bun:sqlite), else python3.</summary>
    Auto,
    Sqlite3,
    Bun,
    Python3,
}

/// <summary>What to snapshot and how many snapshots to keep.</summary>
public sealed record SnapshotRequest(string Service, string DbPath, int Keep = SnapshotRequest.DefaultKeep, SnapshotTool Tool = SnapshotTool.Auto)
{
    public const int DefaultKeep = 5;
}
