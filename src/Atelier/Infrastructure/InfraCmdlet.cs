using Atelier.Transport;

namespace Atelier.Commands.Infrastructure;

/// <summary>
/// The base of the infrastructure cmdlets (Invoke-InfraDeploy, Get-InfraGeneration, Restore-InfraDeploy), as
/// <see cref="DeployCmdlet"/> is for the service side: it owns the connection to a node's host.
/// </summary>
public abstract class InfraCmdlet : RemoteCmdlet
{
    /// <summary>
    /// The connection to <paramref name="node"/>'s host: <paramref name="computerName"/> (-ComputerName, or the piped
    /// one), else the node's name; as <paramref name="user"/> (-User, or the piped one), else the settings' user, else
    /// ~/.ssh/config's User, else the local account, as for deploy-rs's own ssh.
    /// </summary>
    protected HostConnectionRequest NodeConnection(string node, string? computerName, string? user) =>
        ConnectionAs(computerName ?? node, user ?? Settings.User);
}
