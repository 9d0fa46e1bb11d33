using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;

namespace Atelier.Commands;

/// <summary>
/// Unlock-ServiceDeploy: removes a service's deploy lock when its holder is gone (no heartbeat, no guard, no step
/// running), or it is a maintenance lock this user took; a live holder's lock (a running deploy, someone else's
/// maintenance) only with -Force. A dead deploy that had moved the code is left for Restore-ServiceDeploy -BreakLock,
/// which puts it back, unless -Force. The same lock code as deploys (DeployLock). Writes the holder it removed.
/// </summary>
[Cmdlet(VerbsCommon.Unlock, "ServiceDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(LockHolder))]
public sealed class UnlockServiceDeployCommand : ServiceCmdlet
{
    /// <summary>The services (each one's system user); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>Removes the lock even when its holder lives (a running deploy then fails at its next step).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            try
            {
                var computerName = HostFor(service, ManifestEntry(service, required: NeedsHost));
                var connection = ConnectionFor(computerName, service);
                var by = LockRequest.CurrentHolder();
                if (!ShouldChange($"{service} on {WhereFor(computerName)}", Force ? "Remove the deploy lock, even a live holder's" : "Remove the deploy lock if its holder is gone (or it is your maintenance lock)"))
                {
                    continue;
                }

                var force = Force.IsPresent;
                var removed = Run(async (channel, cancellation) =>
                {
                    var host = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                    return await DeployLock.UnlockAsync(host, service, by, force, cancellation).ConfigureAwait(false);
                });
                if (removed is null)
                {
                    WriteVerbose($"The deploy lock of {service} on {WhereFor(computerName)} is free.");
                }
                else
                {
                    WriteObject(removed);
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, service));
            }
        }
    }
}
