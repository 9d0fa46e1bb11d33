using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Snapshot;

namespace Atelier.Commands;

/// <summary>Get-ServiceDbSnapshot: lists a service's database snapshots on the host, newest first.</summary>
[Cmdlet(VerbsCommon.Get, "ServiceDbSnapshot")]
[OutputType(typeof(ServiceDbSnapshot))]
public sealed class GetServiceDbSnapshotCommand : ServiceCmdlet
{
    /// <summary>The services (each one's system user); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>Only snapshots of this database (a name with wildcards, or the database's path).</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("DbPath")]
    [AllowNull]
    [AllowEmptyString]
    public string? Database { get; set; }

    protected override void ProcessRecord()
    {
        var pattern = string.IsNullOrEmpty(Database) ? null : Patterns([ServiceDbSnapshot.DatabaseName(Database)])[0];
        foreach (var service in Service)
        {
            try
            {
                var connection = ConnectionFor(HostFor(service, ManifestEntry(service, required: NeedsHost)), service);
                var snapshots = Run(async (channel, cancellation) =>
                {
                    var snapshotter = await SnapshotterAsync(connection, channel, service, cancellation).ConfigureAwait(false);
                    return await snapshotter.ListAsync(service, null, cancellation).ConfigureAwait(false);
                });
                foreach (var snapshot in snapshots)
                {
                    if (pattern is null || pattern.IsMatch(snapshot.Database))
                    {
                        WriteObject(snapshot);
                    }
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, service));
            }
        }
    }
}
