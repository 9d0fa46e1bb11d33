using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Deploy;

namespace Atelier.Commands;

/// <summary>
/// Lock-ServiceDeploy: holds a service's deploy lock for maintenance, with a message, until Unlock-ServiceDeploy.
/// Meanwhile every deploy and restore fails naming the holder and the message, or waits for the unlock (-LockWait).
/// The same lock as deploys take (DeployLock), without heartbeat or guard: it outlives this command.
/// </summary>
[Cmdlet(VerbsCommon.Lock, "ServiceDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(LockHolder))]
public sealed class LockServiceDeployCommand : ServiceCmdlet
{
    /// <summary>The services (each one's system user); with a services manifest, a name alone is enough.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateServiceName]
    [ArgumentCompleter(typeof(Completion.ServiceNameCompleter))]
    public string[] Service { get; set; } = [];

    /// <summary>What the maintenance is (shown to every deploy the lock stops), one line.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateArgumentText("lock message", LockRequest.MaxTextLength)]
    [ValidateNotNullOrEmpty]
    public string Message { get; set; } = string.Empty;

    protected override void ProcessRecord()
    {
        foreach (var service in Service)
        {
            try
            {
                var computerName = HostFor(service, ManifestEntry(service, required: NeedsHost));
                var connection = ConnectionFor(computerName, service);
                var request = new LockRequest(service, LockOperation.Maintenance, LockRequest.CurrentHolder()) { Message = Message };
                if (!ShouldChange($"{service} on {WhereFor(computerName)}", $"Hold the deploy lock for maintenance: {Message}"))
                {
                    continue;
                }

                var holder = Run(async (channel, cancellation) =>
                {
                    var host = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                    return await DeployLock.HoldAsync(host, request, cancellation).ConfigureAwait(false);
                });
                WriteObject(holder);
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, service));
            }
        }
    }
}
