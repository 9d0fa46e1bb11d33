using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Snapshot;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Backup-ServiceDb: an online, consistent snapshot of a service's live SQLite database, checked with
/// integrity_check, kept in the service's ~/.atelier/snapshots/ (oldest pruned), optionally downloaded and verified here.
/// </summary>
[Cmdlet(VerbsData.Backup, "ServiceDb", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ServiceDbSnapshot))]
public sealed class BackupServiceDbCommand : ServiceCmdlet
{
    /// <summary>The services (each one's system user and unit name); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>The database file on the host: absolute, ~/..., or relative to the service's home. Default: the manifest's data.sqlite.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("Sqlite", "DatabasePath")]
    [ValidateRemotePath]
    public string? DbPath { get; set; }

    /// <summary>How many snapshots of this database to keep.</summary>
    [Parameter]
    [ValidateRange(1, 1000)]
    public int Keep { get; set; } = SnapshotRequest.DefaultKeep;

    /// <summary>
    /// Also copy the snapshot here, and verify the copy: into a folder that exists (named as the snapshot is), or to a
    /// new file in one. An existing file is replaced only with -Force, and only when it is a SQLite database.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Destination { get; set; }

    /// <summary>With -Destination, replaces the file there when it is a SQLite database (an earlier copy); anything else is never replaced.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Which program takes the snapshot on the host (a <see cref="SnapshotTool"/> name).</summary>
    /// <remarks>A string, not the engine's enum: a public cmdlet must not hold engine value types (see CmdletChannel).</remarks>
    [Parameter]
    [ValidateSet(nameof(SnapshotTool.Auto), nameof(SnapshotTool.Sqlite3), nameof(SnapshotTool.Bun), nameof(SnapshotTool.Python3))]
    public string Tool { get; set; } = nameof(SnapshotTool.Auto);

    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            Backup(service);
        }
    }

    private void Backup(string service)
    {
        string dbPath;
        string where;
        HostConnectionRequest connection;
        string? destination;
        try
        {
            // A destination that would be refused is refused before the snapshot is taken (and with -WhatIf, as a run would be).
            destination = Destination is null ? null : LocalPath(Destination);
            if (destination is not null)
            {
                SnapshotDestination.Check(destination, Force);
            }

            var entry = ManifestEntry(service, required: NeedsHost || DbPath is null);
            dbPath = DbPath ?? entry?.DbPath
                ?? throw new PSArgumentException(entry is null
                    ? $"{service}: give -DbPath, the database to snapshot (or configure a services manifest that names it)."
                    : $"{service}: the services manifest names no database for it (data.sqlite): give -DbPath.");
            where = WhereFor(HostFor(service, entry));
            connection = ConnectionFor(HostFor(service, entry), service);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, service));
            return;
        }

        var keep = IsBound(nameof(Keep)) ? Keep : Settings.Keep;
        var force = Force.IsPresent;
        if (!ShouldChange($"{service}: {dbPath} on {where}", $"Snapshot the database (keeping {keep}){(destination is null ? string.Empty : $" and copy it to {destination}")}"))
        {
            return;
        }

        try
        {
            var request = new SnapshotRequest(service, dbPath, keep, Enum.Parse<SnapshotTool>(Tool, ignoreCase: true));
            var snapshot = Run(async (channel, cancellation) =>
            {
                channel.Progress(1, $"Backup-ServiceDb {service}", $"Snapshot of {dbPath} on {where}", -1);
                var snapshotter = await SnapshotterAsync(connection, channel, service, cancellation).ConfigureAwait(false);
                var taken = await snapshotter.TakeAsync(request, cancellation).ConfigureAwait(false);
                channel.Verbose($"Snapshot {taken.Path}: {taken.SizeBytes} bytes by {taken.Tool} in {taken.Duration?.TotalMilliseconds:0} ms");
                if (destination is not null)
                {
                    channel.Progress(1, $"Backup-ServiceDb {service}", $"Downloading {taken.Path}", -1);
                    taken.LocalPath = await snapshotter.DownloadAsync(taken, destination, force, cancellation).ConfigureAwait(false);
                    channel.Verbose($"Downloaded and verified {taken.LocalPath}");
                }

                channel.Progress(1, $"Backup-ServiceDb {service}", "Done", 100);
                return taken;
            });
            WriteObject(snapshot);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, service));
        }
    }
}
