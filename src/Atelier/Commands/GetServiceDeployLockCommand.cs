using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;

namespace Atelier.Commands;

/// <summary>
/// Get-ServiceDeployLock: who holds a service's deploy lock on its host (a deploy, a restore, or Lock-ServiceDeploy's
/// maintenance), for which commit, since when, at which step, whether its holder still lives and why, and a
/// maintenance lock's message; nothing when the lock is free. Read with the same lock code as deploys.
/// </summary>
[Cmdlet(VerbsCommon.Get, "ServiceDeployLock")]
[OutputType(typeof(LockHolder))]
public sealed class GetServiceDeployLockCommand : ServiceCmdlet
{
    /// <summary>The services (each one's system user); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            try
            {
                var connection = ConnectionFor(HostFor(service, ManifestEntry(service, required: NeedsHost)), service);
                var holder = Run(async (channel, cancellation) =>
                {
                    var host = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                    var read = await DeployLock.ReadAsync(host, service, cancellation).ConfigureAwait(false);
                    return read is null ? null : read with { ComputerName = host.ComputerName };
                });
                if (holder is not null)
                {
                    WriteObject(Cleaned(holder));
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, service));
            }
        }
    }

    /// <summary>The holder as shown: its free text (who, commit, step, why, message) is host text.</summary>
    private LockHolder Cleaned(LockHolder holder) => holder with
    {
        By = Text.CleanOrNull(holder.By),
        Commit = Text.CleanOrNull(holder.Commit),
        Step = Text.CleanOrNull(holder.Step),
        Why = Text.CleanOrNull(holder.Why),
        Message = Text.CleanOrNull(holder.Message),
    };
}
