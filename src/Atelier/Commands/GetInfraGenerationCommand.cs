using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Infra;

namespace Atelier.Commands;

/// <summary>
/// Get-InfraGeneration: the system generations of NixOS nodes (number, date, whether current, store path), read over
/// SSH from <c>nix-env --list-generations</c> and the profile's links.
/// </summary>
[Cmdlet(VerbsCommon.Get, "InfraGeneration")]
[OutputType(typeof(SystemGeneration))]
public sealed class GetInfraGenerationCommand : InfraCmdlet
{
    /// <summary>The nodes; each one's host is -ComputerName, else the node's name.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [Alias("Name")]
    [ValidateNodeName]
    public string[] Node { get; set; } = [];

    /// <summary>Only the current generation.</summary>
    [Parameter]
    public SwitchParameter Current { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var node in Node)
        {
            try
            {
                var connection = NodeConnection(node, ComputerName, User);
                var generations = Run(async (channel, cancellation) =>
                {
                    var host = await Hosts.GetAsync(connection, cancellation).ConfigureAwait(false);
                    return await new SystemGenerations(host, node, CommandOptionsFor(channel, $"[{node}]")).ListAsync(cancellation).ConfigureAwait(false);
                });
                foreach (var generation in generations.Where(g => !Current || g.Current))
                {
                    WriteObject(generation);
                }
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                WriteError(ErrorFor(ex, node));
            }
        }
    }
}
