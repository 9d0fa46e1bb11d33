using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Snapshot;

namespace Atelier.Commands;

/// <summary>
/// Save-ServiceDbSnapshot: downloads snapshots a service already has on its host (Get-ServiceDbSnapshot's, piped) to
/// this machine, as Backup-ServiceDb -Destination downloads a new one: into a folder, or as a file name, never over a
/// file by mistake, verified before it is renamed into place, 0600. It takes nothing new on the host.
/// </summary>
[Cmdlet(VerbsData.Save, "ServiceDbSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(ServiceDbSnapshot))]
public sealed class SaveServiceDbSnapshotCommand : ServiceCmdlet
{
    /// <summary>The service whose snapshot it is; with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string Service { get; set; } = string.Empty;

    /// <summary>
    /// The snapshot's path on the host, as Get-ServiceDbSnapshot lists it (its Path binds by name). Only a snapshot the
    /// service has in its snapshot folder (<c>~/.atelier/snapshots/</c>) is copied: any other path is SnapshotNotFound.
    /// </summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRemotePath]
    public string Path { get; set; } = string.Empty;

    /// <summary>Where the copy goes here: a folder (the copy keeps the snapshot's name), or a file name.</summary>
    [Parameter(Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string Destination { get; set; } = string.Empty;

    /// <summary>Replaces an existing file at -Destination, only when that file is itself a SQLite database.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        string destination;
        Atelier.Transport.HostConnectionRequest connection;
        try
        {
            destination = LocalPath(Destination);
            SnapshotDestination.Check(destination, Force);
            connection = ConnectionFor(HostFor(Service, ManifestEntry(Service, required: NeedsHost)), Service);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Service));
            return;
        }

        if (!ShouldChange($"{Service}: {Path} on {WhereFor(connection.ComputerName)}", $"Copy the snapshot to {destination}"))
        {
            return;
        }

        try
        {
            var force = Force.IsPresent;
            var saved = Run(async (channel, cancellation) =>
            {
                var snapshotter = await SnapshotterAsync(connection, channel, Service, cancellation).ConfigureAwait(false);
                var snapshot = (await snapshotter.ListAsync(Service, null, cancellation).ConfigureAwait(false))
                    .FirstOrDefault(s => string.Equals(s.Path, Path, StringComparison.Ordinal))
                    ?? throw new AtelierException("SnapshotNotFound", FailureKind.NotFound,
                        $"{Service} has no snapshot {Path} (Get-ServiceDbSnapshot {Service} lists those it has).");
                channel.Progress(1, $"Save-ServiceDbSnapshot {Service}", $"Downloading {snapshot.Path}", -1);
                snapshot.LocalPath = await snapshotter.DownloadAsync(snapshot, destination, force, cancellation).ConfigureAwait(false);
                channel.Verbose($"Downloaded and verified {snapshot.LocalPath}");
                channel.Progress(1, $"Save-ServiceDbSnapshot {Service}", "Done", 100);
                return snapshot;
            });
            WriteObject(saved);
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Service));
        }
    }
}
