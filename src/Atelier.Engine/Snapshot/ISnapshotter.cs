namespace Atelier.Snapshot;

/// <summary>Takes and lists a service's database snapshots.</summary>
public interface ISnapshotter
{
    /// <summary>Takes a consistent snapshot of a live database, checks it, and prunes old ones.</summary>
    Task<ServiceDbSnapshot> TakeAsync(SnapshotRequest request, CancellationToken cancellationToken);

    /// <summary>Describes, without changing anything, what <see cref="TakeAsync"/> would do.</summary>
    Task<string> PlanAsync(SnapshotRequest request, CancellationToken cancellationToken);

    /// <summary>The service's snapshots, newest first; only those of <paramref name="database"/> when given.</summary>
    Task<IReadOnlyList<ServiceDbSnapshot>> ListAsync(string service, string? database, CancellationToken cancellationToken);

    /// <summary>
    /// Copies a snapshot to this machine (mode 0600) and verifies it there with Microsoft.Data.Sqlite, as
    /// <see cref="SnapshotDestination"/> rules: into <paramref name="destination"/> when it is a folder, else to that file,
    /// which, when it exists, is replaced only with <paramref name="force"/> and only when it is a SQLite database.
    /// </summary>
    /// <returns>The copy's full path.</returns>
    Task<string> DownloadAsync(ServiceDbSnapshot snapshot, string destination, bool force, CancellationToken cancellationToken);
}
