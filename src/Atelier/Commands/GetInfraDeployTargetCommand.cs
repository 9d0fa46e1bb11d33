using System.Management.Automation;
using Atelier.Commands.Infrastructure;
using Atelier.Infra;

namespace Atelier.Commands;

/// <summary>
/// Get-InfraDeployTarget: the deploy-rs nodes that a change of the infrastructure repository touches, by the anchor's
/// rule (the shared paths, -SharedPath or the sharedPaths setting, by default flake.nix, flake.lock, modules/, lib/,
/// secrets/, packages/ and .github/workflows/deploy.yaml: every node; machines/&lt;node&gt;/: that node),
/// from git's changed paths between two commits and the flake's deploy.nodes (or -Node). Each result's Node binds by
/// property name into Invoke-InfraDeploy.
/// </summary>
[Cmdlet(VerbsCommon.Get, "InfraDeployTarget")]
[OutputType(typeof(DeployTarget))]
public sealed class GetInfraDeployTargetCommand : AtelierCmdlet
{
    /// <summary>The commit before the change; all zeros (a new branch) means every node.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string From { get; set; } = string.Empty;

    /// <summary>The commit after the change. Default: HEAD.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string To { get; set; } = "HEAD";

    /// <summary>The infrastructure repository. Default: the current location.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Every node name, instead of reading the flake's deploy.nodes.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Node { get; set; }

    /// <summary>The flake whose deploy.nodes lists the nodes: a folder or a flake reference. Default: the repository.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Flake { get; set; }

    /// <summary>The files, and folders (ending in '/'), whose change means every node. Default: the sharedPaths setting.</summary>
    [Parameter]
    [AllowEmptyCollection]
    public string[]? SharedPath { get; set; }

    protected override void ProcessRecord()
    {
        var repository = Path ?? ".";
        try
        {
            repository = LocalPath(repository);
            var flake = FlakeLocation();
            var shared = SharedPath ?? Settings.SharedPaths;
            var targets = Run((channel, cancellation) =>
                new DeployTargets(repository, channel.Reporter) { SharedPaths = shared }.FindAsync(From, To, Node, flake, cancellation));
            foreach (var target in targets)
            {
                WriteObject(target);
            }
        }
        catch (Exception ex) when (ex is not PipelineStoppedException)
        {
            ThrowTerminatingError(ErrorFor(ex, repository));
        }
    }

    /// <summary>-Flake as a full path when it names a folder here (also through a PowerShell drive), else as given: a flake reference.</summary>
    private string? FlakeLocation()
    {
        if (Flake is null)
        {
            return null;
        }

        try
        {
            var path = LocalPath(Flake);
            if (Directory.Exists(path))
            {
                return path;
            }
        }
        catch (Exception ex) when (ex is System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException or PSArgumentException)
        {
            // github:me/dots, path:/x, git+https://...: a scheme, not a drive.
        }

        return Flake;
    }
}
