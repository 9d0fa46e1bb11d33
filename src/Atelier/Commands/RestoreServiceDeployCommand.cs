using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;
using Atelier.History;
using Atelier.Transport;

namespace Atelier.Commands;

/// <summary>
/// Restore-ServiceDeploy: rolls a service back on demand — by default to the commit before its last successful deploy,
/// with the snapshot that deploy took; or to -Commit, with -Snapshot, or without touching the database. Takes the
/// deploy lock, checks health after, and is recorded like a deploy. Accepts deploy results, history records and
/// snapshots from the pipeline.
/// </summary>
[Cmdlet(VerbsData.Restore, "ServiceDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(ServiceDeployResult))]
public sealed class RestoreServiceDeployCommand : DeployCmdlet
{
    /// <summary>The services (each one's system user and unit); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>The commit to go back to. Default: the one before the last successful deploy.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("PreviousCommit")]
    [ValidateCommit]
    public string? Commit { get; set; }

    /// <summary>The snapshot to put back: its path on the host, or a snapshot object (its Path binds).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("SnapshotPath", "Path")]
    [ValidateRemotePath]
    public string? Snapshot { get; set; }

    /// <summary>The database the snapshot goes back to.</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("db_path", "SourcePath")]
    [ValidateRemotePath]
    public string? DbPath { get; set; }

    /// <summary>Leaves the database as it is.</summary>
    [Parameter]
    public SwitchParameter SkipDatabase { get; set; }

    private protected override string Operation => DeployOperation.Restore;

    /// <summary>Resolves, checks and asks about each service as it comes; the restores run together at the end (see <see cref="DeployCmdlet"/>).</summary>
    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            Restore(service);
        }
    }

    private void Restore(string service)
    {
        DeployRequest request;
        HostConnectionRequest connection;
        string where;
        try
        {
            (request, connection, where) = Resolve(service, null, DbPath);
            request.Validate();
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, service));
            return;
        }

        var target = Commit ?? "the commit before its unfinished or last successful deploy";
        var database = SkipDatabase ? "leaving the database as it is" : Snapshot is not null ? $"putting back {Snapshot}" : "putting back that deploy's snapshot";
        if (!ShouldChange($"{service} on {where}", $"Restore to {target}, {database}"))
        {
            return;
        }

        // Taken now: the next piped object binds its own.
        var commit = Commit;
        var snapshot = Snapshot;
        var skipDatabase = SkipDatabase.IsPresent;
        Enqueue(request, connection, where, (deployer, cancellation) => deployer.RestoreAsync(request, commit, snapshot, skipDatabase, cancellation));
    }
}
