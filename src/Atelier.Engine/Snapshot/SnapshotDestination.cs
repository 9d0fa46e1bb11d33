namespace Atelier.Snapshot;

/// <summary>
/// Where a snapshot's copy on this machine goes (<c>-Destination</c>), and whether it may go there:
/// <list type="bullet">
/// <item>a folder that exists takes a new file inside it, named as the snapshot is;</item>
/// <item>a file that exists is replaced only when asked (<c>force</c>), and even then only when it is itself a SQLite
/// database (it starts with <c>SQLite format 3\0</c>): anything else is never replaced (<c>DestinationNotDatabase</c>),
/// a database without <c>force</c> is <c>DestinationExists</c>;</item>
/// <item>a file in a folder that does not exist, or a folder (a path ending in a separator) that does not exist, is
/// <c>DestinationFolderMissing</c>, naming the folder: nothing is created to make room.</item>
/// </list>
/// The copy is written to a new temporary file beside the target (mode 0600 from the start), verified, and renamed into
/// place, so a crash or a failed check never leaves half a file or replaces anything.
/// </summary>
public static class SnapshotDestination
{
    /// <summary>
    /// Checks a destination before the snapshot is taken, so one that would be refused is refused before anything runs:
    /// the rules of <see cref="Resolve"/> that do not depend on the snapshot's name (a folder is checked again inside,
    /// once the name is known).
    /// </summary>
    /// <exception cref="AtelierException"><c>DestinationExists</c>, <c>DestinationNotDatabase</c>, <c>DestinationFolderMissing</c>.</exception>
    public static void Check(string destination, bool force)
    {
        var full = FullPath(destination);
        if (!Directory.Exists(full))
        {
            CheckFile(full, destination, force);
        }
    }

    /// <summary>The file a snapshot named <paramref name="fileName"/> is copied to, when the rules allow it.</summary>
    /// <exception cref="AtelierException"><c>DestinationExists</c>, <c>DestinationNotDatabase</c>, <c>DestinationFolderMissing</c>.</exception>
    public static string Resolve(string destination, string fileName, bool force)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileName);
        var full = FullPath(destination);
        var target = Directory.Exists(full) ? Path.Combine(full, Path.GetFileName(fileName)) : full;
        CheckFile(target, destination, force);
        return target;
    }

    /// <summary>
    /// Copies a snapshot to <see cref="Resolve"/>'s file: <paramref name="fetch"/> writes a temporary file beside it
    /// (it must create that path as a new file, mode 0600), which is verified with <c>PRAGMA integrity_check</c>, checked
    /// against the rules once more (the download may have taken minutes) and renamed into place. A failure leaves no
    /// temporary file and changes nothing at the destination.
    /// </summary>
    /// <returns>The copy's full path.</returns>
    /// <exception cref="AtelierException">A rule refused the destination, or <c>SnapshotVerificationFailed</c>.</exception>
    public static async Task<string> WriteAsync(string destination, string fileName, bool force, Func<string, CancellationToken, Task> fetch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fetch);
        var target = Resolve(destination, fileName, force);
        var partial = PrivateFile.TemporaryBeside(target);
        try
        {
            await fetch(partial, cancellationToken).ConfigureAwait(false);
            SqliteFile.Verify(partial);
            CheckFile(target, destination, force);
            try
            {
                // Without force, a file that appeared since the check is not replaced either: the move fails instead.
                File.Move(partial, target, overwrite: force);
            }
            catch (IOException) when (!force && File.Exists(target))
            {
                throw Exists(target);
            }
        }
        finally
        {
            File.Delete(partial);
        }

        return target;
    }

    private static string FullPath(string destination)
    {
        ArgumentException.ThrowIfNullOrEmpty(destination);
        var full = Path.GetFullPath(destination);
        if (Path.EndsInDirectorySeparator(destination) && !Directory.Exists(full))
        {
            throw FolderMissing(Path.TrimEndingDirectorySeparator(full));
        }

        return full;
    }

    private static void CheckFile(string target, string destination, bool force)
    {
        if (Directory.Exists(target))
        {
            throw new AtelierException("DestinationExists", FailureKind.AlreadyExists, $"The destination {target} is a folder, where the snapshot's copy would go ({destination}): nothing was written.");
        }

        var folder = Path.GetDirectoryName(target)!;
        if (!Directory.Exists(folder))
        {
            throw FolderMissing(folder);
        }

        var entry = new FileInfo(target);
        if (!entry.Exists && entry.LinkTarget is null)
        {
            return;
        }

        if (!SqliteFile.HasDatabaseHeader(target))
        {
            throw new AtelierException(
                "DestinationNotDatabase",
                FailureKind.InvalidArgument,
                $"The destination {target} exists and is not a SQLite database: a snapshot never replaces it. Give a folder, or a new file name.")
            {
                Hints = [Hint.DestinationNeverReplaced],
            };
        }

        if (!force)
        {
            throw Exists(target);
        }
    }

    private static AtelierException Exists(string target) =>
        new("DestinationExists", FailureKind.AlreadyExists, $"The destination {target} already exists (a SQLite database).") { Hints = [Hint.DestinationReplaced] };

    private static AtelierException FolderMissing(string folder) =>
        new("DestinationFolderMissing", FailureKind.NotFound, $"The destination's folder {folder} does not exist: create it first, or give a folder that exists.");
}
