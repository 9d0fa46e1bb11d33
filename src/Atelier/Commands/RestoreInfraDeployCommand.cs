using System.Globalization;
using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Infra;

namespace Atelier.Commands;

/// <summary>
/// Restore-InfraDeploy: switches a NixOS node back to an earlier system generation — by default the one before the
/// current — with the rollback commands of Invoke-InfraDeploy (<c>nix-env --switch-generation</c>, then
/// <c>switch-to-configuration switch</c>), and checks the profile link afterwards. Deploy results pipe in: their
/// PreviousGeneration is the generation to go back to.
/// </summary>
[Cmdlet(VerbsData.Restore, "InfraDeploy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
[OutputType(typeof(InfraDeployResult))]
public sealed class RestoreInfraDeployCommand : InfraCmdlet
{
    /// <summary>The node; its host is -ComputerName, else the node's name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateNodeName]
    public string Node { get; set; } = string.Empty;

    /// <summary>The generation to switch to. Default: the newest one before the current.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [Alias("PreviousGeneration", "Number")]
    [ValidateRange(1, int.MaxValue)]
    public int? Generation { get; set; }

    protected override void ProcessRecord()
    {
        var host = Local ? "this machine" : ComputerName ?? Node;
        var target = Generation is { } g ? $"generation {g.ToString(CultureInfo.InvariantCulture)}" : "the generation before the current one";
        if (!ShouldChange($"{Node} on {host}", $"Switch the system to {target} (nix-env --switch-generation, then switch-to-configuration switch)"))
        {
            return;
        }

        InfraDeployResult result;
        try
        {
            var connection = NodeConnection(Node, ComputerName, User);
            var wanted = Generation;
            result = Run(async (channel, cancellation) =>
            {
                var remote = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                return await InfraDeployer.RestoreAsync(remote, Node, wanted, CommandOptionsFor(channel, $"[{Node}]"), cancellation).ConfigureAwait(false);
            });
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            WriteError(ErrorFor(ex, Node));
            return;
        }

        WriteObject(result);
        if (!result.Succeeded)
        {
            WriteError(Errors.ForResult(result));
        }
    }
}
