using System.Globalization;
using Atelier.Shell;
using Atelier.Transport;

namespace Atelier.Deploy;

/// <summary>
/// Puts a snapshot back in place of a service's SQLite database, with <c>restore-db.sh</c> run as the service's user:
/// first <see cref="SpaceCheckCommand"/> while the service still runs, then, once it is stopped, <see cref="Command"/>.
/// The restore copies the snapshot beside the database under a name of its own, <c>&lt;db&gt;.atelier-restore.&lt;tag&gt;</c>,
/// and renames it over the database; whatever fails (a full disk, a signal), that copy goes and the database and its
/// <c>-wal</c> are left as they were.
/// </summary>
public static class DatabaseRestore
{
    /// <summary>Bad arguments (the script checks the tag too).</summary>
    public const int UsageExitCode = 64;

    /// <summary>The snapshot is not on the host.</summary>
    public const int SnapshotMissingExitCode = 66;

    /// <summary>The space check could not measure the free space (no folder for the database, df failed).</summary>
    public const int SpaceUnknownExitCode = 71;

    /// <summary>The copy could not be put in place (setting the <c>-wal</c> aside, or the rename, failed).</summary>
    public const int PlaceFailedExitCode = 73;

    /// <summary>The copy could not be written: a full disk, most often.</summary>
    public const int WriteFailedExitCode = 74;

    /// <summary>The space check found too little free space for the restore.</summary>
    public const int NoSpaceExitCode = 75;

    /// <summary>The copy could not take the database's mode.</summary>
    public const int ModeFailedExitCode = 77;

    /// <summary>The least room the space check asks for beyond the snapshot's size.</summary>
    public const long MinimumMarginBytes = 1024 * 1024;

    /// <summary>The room, in percent of the snapshot's size, the space check asks for beyond it (when over the minimum).</summary>
    public const int MarginPercent = 2;

    private const string SpacePrefix = "atelier-space ";
    private static readonly Lazy<string> Script = new(() => EmbeddedScript.Read("Atelier.Deploy.restore-db.sh"));

    /// <summary>
    /// The restore of a stopped service's database from <paramref name="snapshotPath"/>: the live <c>-wal</c>,
    /// <c>-shm</c> and <c>-journal</c> go, the snapshot takes the database's mode (and, as the same user, its owner).
    /// Prints <c>restored &lt;db&gt; from &lt;snapshot&gt;</c>; fails with one of the exit codes of this class.
    /// </summary>
    /// <param name="tag">Names this restore's temporary file; two restores with different tags never meet.</param>
    public static ShellCommand Command(string snapshotPath, string dbPath, string tag) =>
        ShellCommand.Script(
            Script.Value,
            "restore",
            RemoteValue.Path(snapshotPath, "snapshot path"),
            RemoteValue.Path(dbPath, "database path"),
            RemoteValue.Tag(tag, "restore tag"));

    /// <summary>
    /// The check to run before the service is stopped: the free space of the database's file system against the
    /// snapshot's size plus max(<see cref="MinimumMarginBytes"/>, <see cref="MarginPercent"/> %). Prints
    /// <c>atelier-space needed=&lt;bytes&gt; available=&lt;bytes&gt; snapshot=&lt;bytes&gt; mount=&lt;mount point&gt;</c>;
    /// read its result with <see cref="CheckSpace"/>.
    /// </summary>
    public static ShellCommand SpaceCheckCommand(string snapshotPath, string dbPath) =>
        ShellCommand.Script(
            Script.Value,
            "check",
            RemoteValue.Path(snapshotPath, "snapshot path"),
            RemoteValue.Path(dbPath, "database path"));

    /// <summary>The room a restore of a snapshot of <paramref name="snapshotBytes"/> asks for.</summary>
    public static long NeededBytes(long snapshotBytes) => snapshotBytes + Math.Max(MinimumMarginBytes, snapshotBytes * MarginPercent / 100);

    /// <summary>Reads the result of <see cref="SpaceCheckCommand"/>: the space when the restore fits.</summary>
    /// <exception cref="AtelierException">
    /// <c>RestoreNoSpace</c> (ResourceUnavailable) when it does not fit, <c>SnapshotNotFound</c> (NotFound) when the
    /// snapshot is gone, <c>RestoreSpaceCheckFailed</c> (OperationFailed) when the check could not run.
    /// </exception>
    public static RestoreSpace CheckSpace(CommandResult result, string dbPath)
    {
        ArgumentNullException.ThrowIfNull(result);
        switch (result.ExitCode)
        {
            case 0:
                return ParseSpace(result) ?? throw CheckFailed(result, dbPath);
            case NoSpaceExitCode when ParseSpace(result) is { } space:
                throw new AtelierException(
                    "RestoreNoSpace",
                    FailureKind.ResourceUnavailable,
                    $"The restore of {dbPath} needs {Size(space.ShortBytes)} more free space on {space.MountPoint} (needs {Size(space.NeededBytes)}, {Size(space.AvailableBytes)} free); nothing was stopped.");
            case SnapshotMissingExitCode:
                throw new AtelierException("SnapshotNotFound", FailureKind.NotFound, $"The restore of {dbPath} cannot start: {Message(result)}; nothing was stopped.");
            default:
                throw CheckFailed(result, dbPath);
        }
    }

    /// <summary>A size for a message: bytes, KiB, MiB or GiB with one decimal.</summary>
    public static string Size(long bytes) => bytes switch
    {
        < 1024 => bytes.ToString(CultureInfo.InvariantCulture) + " bytes",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
    };

    private static RestoreSpace? ParseSpace(CommandResult result)
    {
        var line = result.Output.Split('\n').LastOrDefault(l => l.StartsWith(SpacePrefix, StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        // needed=N available=N snapshot=N mount=<the rest of the line: a mount point may hold spaces>
        var mount = line.IndexOf(" mount=", StringComparison.Ordinal);
        if (mount < 0)
        {
            return null;
        }

        var numbers = line[SpacePrefix.Length..mount].Split(' ').Select(f => f.Split('=', 2)).Where(kv => kv.Length == 2).ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
        return Number(numbers, "needed") is { } needed && Number(numbers, "available") is { } available && Number(numbers, "snapshot") is { } snapshot
            ? new RestoreSpace(needed, available, snapshot, line[(mount + " mount=".Length)..])
            : null;
    }

    private static long? Number(Dictionary<string, string> fields, string key) =>
        fields.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string Message(CommandResult result) =>
        result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith("atelier: ", StringComparison.Ordinal))?["atelier: ".Length..].Trim()
        ?? result.Tail(10);

    private static AtelierException CheckFailed(CommandResult result, string dbPath) =>
        new("RestoreSpaceCheckFailed", FailureKind.OperationFailed, $"The free space for the restore of {dbPath} could not be checked (exit code {result.ExitCode}); nothing was stopped:\n{result.Tail(10)}");
}

/// <summary>What the space check of a restore measured, in bytes.</summary>
/// <param name="NeededBytes">The snapshot's size plus the margin.</param>
/// <param name="AvailableBytes">Free on the database's file system, for the service's user.</param>
/// <param name="SnapshotBytes">The snapshot's size.</param>
/// <param name="MountPoint">Where the database's file system is mounted.</param>
public sealed record RestoreSpace(long NeededBytes, long AvailableBytes, long SnapshotBytes, string MountPoint)
{
    /// <summary>How much more free space the restore needs; 0 when it fits.</summary>
    public long ShortBytes => Math.Max(0, NeededBytes - AvailableBytes);

    public bool Fits => AvailableBytes >= NeededBytes;
}
